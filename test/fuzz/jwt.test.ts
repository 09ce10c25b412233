/**
 * Hostile JWTs: generated tokens (random parts, truncations of a valid one, and valid signatures
 * over hostile headers and claims) against a proxy that trusts a VCVerifier and a Keyrock
 * application. Never a 5xx, never a crash, nothing fetched from a URL a token names, and the proxy
 * still serves a valid token afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { base64url, type JWTPayload, SignJWT } from 'jose';
import { request } from '../support/client.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { type FakeVerifier, issuerSetting, startFakeVerifier } from '../support/verifier.ts';

const RUNS = 300;
const KEYROCK_SECRET = 'a1b2c3d4e5f60718';
const ACME = 'did:web:acme.example';

const [sqlite] = storeBackends();

describe('generated JWTs against the proxy path', () => {
  let vc: FakeVerifier;
  let trap: TestServer;
  let trapped = 0;
  let f: ProxyFixture;
  // Every status answered, for the report when a property fails.
  const statuses = new Map<number, number>();

  const send = async (token: string) => {
    let status: number;
    try {
      status = (
        await request(`${f.url}/svc/echo/x`, {
          headers: { authorization: `Bearer ${token}`, 'x-api-key': 'key-acme' },
        })
      ).status;
    } catch (error) {
      // The client refuses to send a header value with control characters: nothing to test.
      if ((error as { code?: string }).code === 'ERR_INVALID_CHAR') return;
      throw error;
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    assert.ok(status < 500, `answered ${status} for ${token.slice(0, 120)}`);
  };

  before(async () => {
    vc = await startFakeVerifier('vcverifier');
    trap = await listenOnLoopback((_req, res) => {
      trapped++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    f = await startProxyFixture(sqlite?.database() ?? assert.fail('no SQLite'), {
      ACCOUNTING_PROXY_JWT_ISSUERS: JSON.stringify([issuerSetting(vc)]),
      ACCOUNTING_PROXY_KEYROCK_JWT_SECRETS: `${APP_ID}:${KEYROCK_SECRET}`,
    });
    await f.store.addBuy({
      ...{ apiKey: 'key-acme', publicPath: '/svc', orderId: 'o-acme', productId: 'p-acme' },
      ...{ customer: ACME, unit: 'call', recordType: 'callusage' },
    });
    await f.proxy.routing.refresh();
  });
  after(async () => {
    await f.close();
    await Promise.all([vc.close(), trap.close()]);
  });

  test('random parts and truncations of a valid token', async () => {
    const valid = await vc.token(ACME, APP_ID);
    const part = fc.oneof(
      fc.base64String({ maxLength: 200 }),
      fc.string({ unit: 'binary-ascii', maxLength: 80 }),
      fc.constantFrom('', 'e30', 'bnVsbA', 'W10', 'IiI', 'eyJhbGciOiJub25lIn0'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(part, part, part).map((parts) => parts.join('.')),
          fc.nat(valid.length).map((n) => valid.slice(0, n)),
          fc
            .tuple(
              fc.nat(valid.length - 1),
              fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
            )
            .map(([at, c]) => valid.slice(0, at) + c + valid.slice(at + 1)),
        ),
        send,
      ),
      { numRuns: RUNS },
    );
  });

  test('valid signatures over hostile headers and claims', async () => {
    const claim = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined));
    const header = fc.record(
      {
        alg: fc.constantFrom('RS256', 'ES256', 'HS256', 'none', 'PS256', 'RS1'),
        kid: fc.oneof(fc.constant(vc.kid), fc.string({ maxLength: 40 })),
        jku: fc.constant(`${trap.url}/jwks`),
        x5u: fc.constant(`${trap.url}/cert`),
        typ: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: ['alg'] },
    );
    const claims = fc.record({
      iss: fc.oneof(fc.constant(vc.issuer), fc.string(), fc.jsonValue({ maxDepth: 1 })),
      aud: fc.oneof(fc.constant([APP_ID]), claim),
      exp: fc.oneof(fc.integer(), fc.double(), fc.constant(4_000_000_000), claim),
      nbf: claim,
      iat: claim,
      app_id: fc.oneof(fc.constant(APP_ID), claim),
      id: claim,
      verifiableCredential: fc.oneof(fc.constant({ issuer: ACME }), claim),
      vc: claim,
      roles: claim,
    });
    await fc.assert(
      fc.asyncProperty(header, claims, async (protectedHeader, payload) => {
        const defined = Object.fromEntries(
          Object.entries(payload).filter(([, value]) => value !== undefined),
        ) as JWTPayload;
        let token: string;
        try {
          const jwt = new SignJWT(defined).setProtectedHeader({ ...protectedHeader, alg: 'RS256' });
          token = await jwt.sign(vc.privateKey);
        } catch {
          return; // a payload jose itself will not sign
        }
        // The header as generated (alg included), over the real signature of the RS256 one.
        const [, body, signature] = token.split('.');
        const forged = base64url.encode(JSON.stringify(protectedHeader));
        await send(`${forged}.${body}.${signature}`);
        await send(token);
      }),
      { numRuns: RUNS },
    );
    assert.equal(trapped, 0, 'a URL named by a token was fetched');
  });

  test('the proxy still serves a valid token', async () => {
    const answer = await request(`${f.url}/svc/echo/x`, {
      headers: { authorization: `Bearer ${await vc.token(ACME, APP_ID)}`, 'x-api-key': 'key-acme' },
    });
    assert.equal(answer.status, 200);
    assert.ok((statuses.get(401) ?? 0) > RUNS, `statuses: ${JSON.stringify([...statuses])}`);
  });
});
