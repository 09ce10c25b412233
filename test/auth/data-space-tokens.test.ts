/**
 * Consumers with JWT access tokens, end to end on both stores: data-space tokens of the VCVerifier
 * (RS256) and DOME's verifier (ES256) from real JWKS servers, and Keyrock HS256 JWTs, served and
 * metered without a call to Keyrock; the audience checked per service; hostile tokens refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ClientResponse, eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { keyrockUser } from '../support/idm.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { type TestClock, testClock } from '../support/test-clock.ts';
import { FakeTmf } from '../support/tmf/fake-tmf.ts';
import { OFFERING, product, seedMarketplace, tmf4Env } from '../support/tmf/marketplace-seed.ts';
import {
  type FakeVerifier,
  issuerSetting,
  keyrockJwt,
  startFakeVerifier,
} from '../support/verifier.ts';

const ACME_DID = 'did:web:acme.example';
const DOME_ORG = 'VATES-B12341234';
const KEYROCK_SECRET = '5f1a2b3c4d5e6f70';

const jwtEnv = (verifiers: FakeVerifier[]) => ({
  ACCOUNTING_PROXY_JWT_ISSUERS: JSON.stringify(verifiers.map((v) => issuerSetting(v))),
  ACCOUNTING_PROXY_KEYROCK_JWT_SECRETS: `${APP_ID}:${KEYROCK_SECRET},app-2:0000000000000000`,
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const errorOf = (answer: ClientResponse) => answer.json<{ error: string }>().error;

const backends = storeBackends();
for (const backend of backends) {
  describe(`JWT consumers on ${backend.name}`, () => {
    let vc: FakeVerifier;
    let dome: FakeVerifier;
    let f: ProxyFixture;
    let clock: TestClock;
    const logLines: string[] = [];
    const call = (headers: Record<string, string>, path = '/svc/echo/data') =>
      request(`${f.url}${path}`, { headers });
    const pending = async (apiKey: string) =>
      (await f.store.listUsage()).find((buy) => buy.apiKey === apiKey)?.pending ?? 0;

    before(async () => {
      vc = await startFakeVerifier('vcverifier');
      dome = await startFakeVerifier('dome');
      clock = testClock(Date.now());
      const env = { ...jwtEnv([vc, dome]), ACCOUNTING_PROXY_OPS_PORT: String(await freePort()) };
      f = await startProxyFixture(backend.database(), env, {
        clock,
        accessLog: {
          write: (entry) => logLines.push(JSON.stringify(entry)),
          flush: async () => {},
        },
      });
      for (const [apiKey, customer] of [
        ['key-acme', ACME_DID],
        // The marketplace may name a DOME organization as a DID: the token names it bare.
        ['key-dome', `did:elsi:${DOME_ORG}`],
      ] as const) {
        await f.store.addBuy({
          ...{ apiKey, publicPath: '/svc', orderId: `o-${apiKey}`, productId: `p-${apiKey}` },
          ...{ customer, unit: 'call', recordType: 'callusage' },
        });
      }
      await f.store.addAdmin('did:web:provider.example');
      await f.store.bindAdmin('did:web:provider.example', '/svc');
      await f.proxy.routing.refresh();
    });
    after(async () => {
      await f.close();
      await Promise.all([vc.close(), dome.close()]);
    });

    test('a VCVerifier buyer is served and metered, with no call to Keyrock', async () => {
      const token = await vc.token(ACME_DID, APP_ID);
      const headers = { ...bearer(token), 'x-api-key': 'key-acme' };
      for (let i = 0; i < 3; i++) assert.equal((await call(headers)).status, 200);
      assert.equal(await pending('key-acme'), 3);
      const seen = f.backend.received.at(-1)?.headers ?? {};
      assert.equal(seen['x-nick-name'], ACME_DID);
      assert.equal(seen['x-email'], 'operator@acme.example');
      assert.equal(seen.authorization, `Bearer ${token}`);
      assert.equal(f.idm.totalCalls(), 0);
      // The access log names the customer, never the token.
      const lines = logLines.join('\n');
      assert.ok(lines.includes(ACME_DID));
      assert.ok(!lines.includes(token.split('.')[2] ?? '?'));
    });

    test('a DOME buyer is matched with or without did:elsi:, and needs no API key alone', async () => {
      const token = await dome.token(DOME_ORG, APP_ID);
      assert.equal((await call({ ...bearer(token), 'x-api-key': 'key-dome' })).status, 200);
      assert.equal(await pending('key-dome'), 1);
      // Another organization's key is not its own.
      const answer = await call({ ...bearer(token), 'x-api-key': 'key-acme' });
      assert.equal(answer.status, 401);
      assert.equal(errorOf(answer), 'Invalid API key');
      // The admin API knows the same customer: GET keys lists its buy.
      const keys = await request(`${f.url}/accounting_proxy/keys`, { headers: bearer(token) });
      assert.deepEqual(
        keys.json<{ apiKey: string }[]>().map((buy) => buy.apiKey),
        ['key-dome'],
      );
      assert.equal(f.idm.totalCalls(), 0);
    });

    test('a token for another service is refused by its audience', async () => {
      const answer = await call({
        ...bearer(await vc.token(ACME_DID, 'another-service')),
        'x-api-key': 'key-acme',
      });
      assert.equal(answer.status, 401);
      assert.equal(errorOf(answer), "The access token's audience does not include this service");
    });

    test('an administrator named by its DID is served without an API key', async () => {
      const token = await vc.token('did:web:provider.example', APP_ID);
      assert.equal((await call(bearer(token))).status, 200);
    });

    test("a Keyrock JWT is accepted with its application's secret and refused with another's", async () => {
      const alice = keyrockUser('alice', APP_ID, ['customer-role']);
      const own = await keyrockJwt(alice, KEYROCK_SECRET);
      assert.equal((await call({ ...bearer(own), 'x-api-key': 'key-call' })).status, 200);
      assert.equal(f.backend.received.at(-1)?.headers['x-roles'], 'customer-role,');
      const forged = await keyrockJwt(alice, '0000000000000000');
      const refused = await call({ ...bearer(forged), 'x-api-key': 'key-call' });
      assert.equal(refused.status, 401);
      assert.equal(errorOf(refused), "The access token's signature does not verify");
      // A JWT of app-2, an application of no service here.
      const other = await keyrockJwt(keyrockUser('alice', 'app-2'), '0000000000000000');
      assert.equal((await call({ ...bearer(other), 'x-api-key': 'key-call' })).status, 401);
      assert.equal(f.idm.totalCalls(), 0);
      // Opaque Keyrock tokens still go to the IdM, side by side.
      assert.equal((await call(f.buyer())).status, 200);
      assert.equal(f.idm.totalCalls(), 1);
    });

    test('a verifier restart with a new key is followed at its first token', async () => {
      await vc.restart();
      const fetches = vc.fetches;
      const token = await vc.token(ACME_DID, APP_ID);
      assert.equal((await call({ ...bearer(token), 'x-api-key': 'key-acme' })).status, 200);
      assert.equal(vc.fetches, fetches + 1);
    });

    test('hostile tokens get a 401 with the JSON error, and the proxy keeps serving', async () => {
      const valid = await vc.token(ACME_DID, APP_ID);
      const [header, payload] = valid.split('.') as [string, string, string];
      const hostile: [string, RegExp][] = [
        [`${header}.${payload}.AAAA`, /signature does not verify/],
        [`eyJhbGciOiJub25lIn0.${payload}.`, /algorithm "none" is not accepted/],
        [await vc.token(ACME_DID, APP_ID, { expiresIn: -600 }), /has expired/],
        [await vc.token(ACME_DID, APP_ID, { notBefore: 600 }), /not valid yet/],
        [await vc.sign({ iss: vc.issuer, aud: [APP_ID], exp: 4e9 }), /names no customer/],
        [await vc.sign({ iss: vc.issuer, exp: 4e9 }, { kid: 'nope' }), /No key of the token/],
        [`${header}.%%%.${payload}`, /not a well-formed JWT/],
        [`${header}.${Buffer.from('{"iss":').toString('base64url')}.x`, /not a well-formed JWT/],
        [`${header}.${'A'.repeat(17_000)}.x`, /longer than 16384 bytes/],
        // An issuer nobody trusts: Keyrock is asked, and refuses it.
        [await vc.sign({ iss: 'https://evil.example', exp: 4e9 }), /^Invalid Auth-Token$/],
      ];
      for (const [token, expected] of hostile) {
        const answer = await call({ ...bearer(token), 'x-api-key': 'key-acme' });
        assert.equal(answer.status, 401, token.slice(0, 80));
        assert.match(errorOf(answer), expected);
      }
      const good = await call({ ...bearer(valid), 'x-api-key': 'key-acme' });
      assert.equal(good.status, 200);
    });

    test('the verifications and JWKS fetches are counted', async () => {
      const text = (await f.proxy.metrics?.text()) ?? '';
      assert.match(
        text,
        /accounting_proxy_token_verifications_total\{kind="jwt",result="valid"\} [1-9]/,
      );
      assert.match(
        text,
        /accounting_proxy_token_verifications_total\{kind="jwt",result="invalid"\} [1-9]/,
      );
      assert.match(
        text,
        /accounting_proxy_token_verifications_total\{kind="keyrock",result="valid"\} 1/,
      );
      assert.match(text, /accounting_proxy_jwks_fetches_total\{issuer="[^"]+",result="ok"\} [1-9]/);
    });

    test('while the JWKS is down, known keys keep working and unknown kids get 503', async () => {
      clock.advance(10_000);
      dome.failWith = 502;
      try {
        const known = await dome.token(DOME_ORG, APP_ID);
        assert.equal((await call({ ...bearer(known), 'x-api-key': 'key-dome' })).status, 200);
        const stranger = await dome.sign({ iss: dome.issuer, exp: 4_000_000_000 }, { kid: 'new' });
        const answer = await call({ ...bearer(stranger), 'x-api-key': 'key-dome' });
        assert.equal(answer.status, 503);
        assert.match(errorOf(answer), /signing keys of token issuer .* are unavailable/);
      } finally {
        dome.failWith = undefined;
      }
    });
  });

  describe(`a DOME organization buying on the TMF v4 marketplace, on ${backend.name}`, () => {
    let dome: FakeVerifier;
    let tmf: FakeTmf;
    let f: ProxyFixture;
    before(async () => {
      dome = await startFakeVerifier('dome');
      tmf = await new FakeTmf().start();
      seedMarketplace(tmf);
      const port = await freePort();
      f = await startProxyFixture(backend.database(), {
        ...tmf4Env(tmf, port),
        ACCOUNTING_PROXY_TMF_RECONCILE: '3600000',
        ...jwtEnv([dome]),
      });
      await f.store.setServiceCatalog('/svc', { offerings: [OFFERING], productSpecs: [] });
      await f.proxy.routing.refresh();
    });
    after(async () => {
      await f.close();
      await tmf.stop();
      await dome.close();
    });

    test("the LEAR credential's organization is the product's customer party", async () => {
      const headers = bearer(await dome.token(DOME_ORG, APP_ID));
      tmf.putProduct(product('urn:ngsi-ld:product:dome-1', 'active'), { silently: true });
      await f.proxy.marketplace?.reconcileNow();
      await eventually(async () => (await call(headers)).status === 200);
      const stranger = bearer(await dome.token('VATES-Z00000000', APP_ID));
      assert.equal((await call(stranger)).status, 401);
      assert.equal(f.idm.totalCalls(), 0);
    });

    const call = (headers: Record<string, string>) =>
      request(`${f.url}/svc/echo/data`, { headers });
  });
}
