/**
 * JWT access tokens verified by the proxy, against real JWKS servers on 127.0.0.1 that publish and
 * sign as the VCVerifier and DOME's IN2 verifier do: identities, every hostile case, key rotation,
 * the JWKS endpoint down, and the cache of verified tokens on a test clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { base64url, SignJWT } from 'jose';
import { createAccessTokens } from '../../src/auth/access-tokens.ts';
import type { IdmUser } from '../../src/auth/idm-client.ts';
import { createJwtVerifier, type JwtVerifier } from '../../src/auth/jwt-verifier.ts';
import { createTokenValidator } from '../../src/auth/token-validator.ts';
import { DEFAULT_IDENTITY_CLAIMS, type JwtConfig } from '../../src/config/jwt.ts';
import { isProxyError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { keyrockUser } from '../support/idm.ts';
import { testClock } from '../support/test-clock.ts';
import { type FakeVerifier, keyrockJwt, startFakeVerifier } from '../support/verifier.ts';

const ACME_DID = 'did:web:acme.example';
const SERVICE = 'weather-api';
const KEYROCK_SECRET = '0123456789abcdef';
const log = createLogger('silent');

const issuerOf = (verifier: FakeVerifier, extra: Partial<JwtConfig['issuers'][number]> = {}) => ({
  issuer: verifier.issuer,
  jwksUrl: verifier.jwksUrl,
  algorithms: ['ES256', 'RS256'],
  identityClaims: DEFAULT_IDENTITY_CLAIMS,
  clockTolerance: 30,
  ...extra,
});

/** The table code a verification rejects with, or the user it answers. */
async function outcome(
  verifier: JwtVerifier,
  token: string,
): Promise<string | IdmUser | undefined> {
  const verification = verifier.verify(token);
  if (!verification) return undefined;
  try {
    return (await verification).user;
  } catch (error) {
    if (isProxyError(error)) return error.code;
    throw error;
  }
}

const code = (value: unknown) => (typeof value === 'string' ? value : 'accepted');

describe('JWT verification', () => {
  let vc: FakeVerifier;
  let dome: FakeVerifier;
  let clock = testClock(Date.now());
  let verifier: JwtVerifier;
  const fresh = () => {
    clock = testClock(Date.now());
    verifier = createJwtVerifier({
      config: {
        issuers: [issuerOf(vc), issuerOf(dome)],
        keyrock_secrets: [{ appId: 'app-1', secret: KEYROCK_SECRET }],
      },
      timeoutMs: 2000,
      clock,
      log,
      jwksCooldownMs: 5000,
    });
  };

  before(async () => {
    vc = await startFakeVerifier('vcverifier');
    dome = await startFakeVerifier('dome');
    fresh();
  });
  after(async () => {
    await Promise.all([vc.close(), dome.close()]);
  });

  test('a VCVerifier RS256 token names the credential issuer, for its audience', async () => {
    const user = await outcome(verifier, await vc.token(ACME_DID, SERVICE));
    assert.deepEqual(user, {
      id: ACME_DID,
      displayName: '',
      email: 'operator@acme.example',
      appId: '',
      roles: [],
      organizations: [],
      audiences: [SERVICE],
    });
  });

  test('an issuer given as {id} is read through verifiableCredential.issuer.id', async () => {
    const token = await vc.token('ignored', SERVICE);
    const claims = JSON.parse(
      new TextDecoder().decode(base64url.decode(token.split('.')[1] ?? '')),
    );
    claims.verifiableCredential.issuer = { id: ACME_DID, name: 'ACME' };
    const user = await outcome(verifier, await vc.sign(claims));
    assert.equal((user as IdmUser).id, ACME_DID);
  });

  test('a DOME ES256 token names the mandator organization', async () => {
    assert.equal(dome.alg, 'ES256');
    const user = (await outcome(verifier, await dome.token('VATES-B12341234', SERVICE))) as IdmUser;
    assert.equal(user.id, 'VATES-B12341234');
    assert.equal(user.displayName, 'ACME Data SL');
    assert.equal(user.email, 'eve@acme.example');
    assert.deepEqual(user.audiences, [SERVICE]);
  });

  test('a Keyrock HS256 JWT is its /user document, with the application secret only', async () => {
    const alice = keyrockUser('alice', 'app-1', ['106']);
    const user = (await outcome(verifier, await keyrockJwt(alice, KEYROCK_SECRET))) as IdmUser;
    assert.equal(user.id, 'alice');
    assert.equal(user.appId, 'app-1');
    assert.equal(user.audiences, undefined);
    assert.deepEqual(user.roles, [{ id: '106', name: '106' }]);
    assert.equal(
      await outcome(verifier, await keyrockJwt(alice, 'fedcba9876543210')),
      'TOKEN_SIGNATURE',
    );
    // Another application's JWT, or an opaque token: the IdM judges it.
    assert.equal(verifier.verify(await keyrockJwt(keyrockUser('bob', 'app-2'), 'x')), undefined);
    assert.equal(verifier.verify('3f2a9c0d4e5b6a7f8091a2b3c4d5e6f708192a3b'), undefined);
  });

  test('hostile tokens are refused with their own 401', async () => {
    const valid = await vc.token(ACME_DID, SERVICE);
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const json = (part: unknown) => base64url.encode(JSON.stringify(part));
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    const other = await startFakeVerifier('vcverifier');
    const forgedKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: vc.kid })
      .sign(other.privateKey);
    await other.close();
    const cases: Record<string, string> = {
      [`${header}.${payload}.${signature.slice(0, -4)}AAAA`]: 'TOKEN_SIGNATURE',
      [forgedKey]: 'TOKEN_SIGNATURE',
      [`${json({ alg: 'none', typ: 'JWT' })}.${payload}.`]: 'TOKEN_ALGORITHM',
      // The verifier's public key used as an HMAC secret (the classic key-confusion attack).
      [await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: vc.kid })
        .sign(new TextEncoder().encode(JSON.stringify(vc.publicJwk)))]: 'TOKEN_ALGORITHM',
      [await vc.token(ACME_DID, SERVICE, { expiresIn: -120 })]: 'TOKEN_EXPIRED',
      [await vc.token(ACME_DID, SERVICE, { notBefore: 600 })]: 'TOKEN_NOT_YET_VALID',
      [await vc.sign({ ...claims, exp: undefined })]: 'TOKEN_CLAIMS',
      [await vc.sign({ iss: vc.issuer, aud: [SERVICE], exp: claims.exp })]: 'TOKEN_IDENTITY',
      [await vc.sign(claims, { kid: 'made-up' })]: 'TOKEN_KEY_UNKNOWN',
      [`${header}.${payload.slice(0, -3)}!!!.${signature}`]: 'TOKEN_MALFORMED',
      [`${header}.${base64url.encode('{"iss": ')}.${signature}`]: 'TOKEN_MALFORMED',
      [`${base64url.encode('not json')}.${payload}.${signature}`]: 'TOKEN_MALFORMED',
    };
    for (const [token, expected] of Object.entries(cases)) {
      assert.equal(code(await outcome(verifier, token)), expected, token.slice(0, 60));
    }
    // Within the clock tolerance an expired token still passes.
    assert.equal(
      code(await outcome(verifier, await vc.token(ACME_DID, SERVICE, { expiresIn: -10 }))),
      'accepted',
    );
    // An issuer nobody trusts: not verified here (Keyrock is asked, and refuses it).
    assert.equal(
      verifier.verify(await vc.sign({ ...claims, iss: 'https://evil.example' })),
      undefined,
    );
  });

  test('made-up kids cost one JWKS fetch per cooldown, however many come at once', async () => {
    fresh();
    await outcome(verifier, await vc.token(ACME_DID, SERVICE));
    const before = vc.fetches;
    const claims = { iss: vc.issuer, aud: [SERVICE], exp: Math.floor(Date.now() / 1000) + 60 };
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => vc.sign(claims, { kid: `kid-${i}` })),
    );
    const first = await Promise.all(tokens.map((token) => outcome(verifier, token)));
    assert.ok(first.every((result) => result === 'TOKEN_KEY_UNKNOWN'));
    assert.equal(vc.fetches - before, 1, 'one fetch for the first unknown kid, shared by all');
    const again = await Promise.all(tokens.map((token) => outcome(verifier, token)));
    assert.ok(again.every((result) => result === 'TOKEN_KEY_UNKNOWN'));
    assert.equal(vc.fetches - before, 1, 'none more within the cooldown');
    clock.advance(5000);
    const later = await Promise.all(tokens.map((token) => outcome(verifier, token)));
    assert.ok(later.every((result) => result === 'TOKEN_KEY_UNKNOWN'));
    assert.equal(vc.fetches - before, 2);
  });

  test('a verifier restart with a new key is followed at its first token', async () => {
    fresh();
    const oldToken = await vc.token(ACME_DID, SERVICE);
    assert.equal(code(await outcome(verifier, oldToken)), 'accepted');
    // At once, right after the set was fetched: no cooldown holds the new kid back.
    await vc.restart();
    const before = vc.fetches;
    assert.equal(code(await outcome(verifier, await vc.token(ACME_DID, SERVICE))), 'accepted');
    assert.equal(vc.fetches - before, 1);
    // The old key is gone from the set: its tokens no longer verify.
    assert.equal(code(await outcome(verifier, oldToken)), 'TOKEN_KEY_UNKNOWN');
  });

  test('while the JWKS is down, known keys work and only unknown kids get 503', async () => {
    fresh();
    assert.equal(code(await outcome(verifier, await dome.token('VATES-B1', SERVICE))), 'accepted');
    dome.failWith = 503;
    try {
      clock.advance(5000);
      assert.equal(
        code(await outcome(verifier, await dome.token('VATES-B2', SERVICE))),
        'accepted',
      );
      const stranger = await dome.sign(
        { iss: dome.issuer, exp: Math.floor(Date.now() / 1000) + 60 },
        { kid: 'x' },
      );
      assert.equal(await outcome(verifier, stranger), 'JWKS_UNAVAILABLE');
      // Within the cooldown the endpoint is not asked again: still 503, not 401.
      const fetches = dome.fetches;
      assert.equal(await outcome(verifier, stranger), 'JWKS_UNAVAILABLE');
      assert.equal(dome.fetches, fetches);
    } finally {
      dome.failWith = undefined;
    }
    clock.advance(5000);
    await dome.restart();
    assert.equal(code(await outcome(verifier, await dome.token('VATES-B3', SERVICE))), 'accepted');
  });

  test('an issuer whose JWKS was never fetched answers 503 while it is down', async () => {
    fresh();
    vc.failWith = 500;
    try {
      assert.equal(await outcome(verifier, await vc.token(ACME_DID, SERVICE)), 'JWKS_UNAVAILABLE');
    } finally {
      vc.failWith = undefined;
    }
    clock.advance(5000);
    assert.equal(code(await outcome(verifier, await vc.token(ACME_DID, SERVICE))), 'accepted');
  });

  test('a stale set is fetched again in the background, the request not waiting', async () => {
    fresh();
    await outcome(verifier, await vc.token(ACME_DID, SERVICE));
    const before = vc.fetches;
    clock.advance(600_001);
    assert.equal(code(await outcome(verifier, await vc.token(ACME_DID, SERVICE))), 'accepted');
    for (let i = 0; i < 100 && vc.fetches === before; i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(vc.fetches, before + 1);
  });
});

describe('verified tokens are cached by their hash until they expire', () => {
  let vc: FakeVerifier;
  before(async () => {
    vc = await startFakeVerifier('vcverifier', 'ES256');
  });
  after(() => vc.close());

  test('the warm path verifies nothing; expiry and refusals follow the clock', async () => {
    const clock = testClock(Date.now());
    const inner = createJwtVerifier({
      config: { issuers: [issuerOf(vc)], keyrock_secrets: [] },
      timeoutMs: 2000,
      clock,
      log,
    });
    let verifications = 0;
    const jwt: JwtVerifier = {
      verify(token) {
        const verification = inner.verify(token);
        if (verification) verifications++;
        return verification;
      },
    };
    const idmCalls: string[] = [];
    const idm = createTokenValidator({
      idm: {
        lookup: async (token) => {
          idmCalls.push(token);
          return undefined;
        },
      },
      ttlMs: 60_000,
      clock,
    });
    const tokens = createAccessTokens({ idm, jwt, clock });
    const token = await vc.token(ACME_DID, SERVICE, { expiresIn: 120 });
    assert.equal(tokens.cached(token), undefined);
    const user = await tokens.validate(token);
    assert.equal((user as IdmUser).id, ACME_DID);
    assert.equal(tokens.cached(token), user);
    assert.equal(verifications, 1);
    // Until exp plus the clock tolerance, then verified again, and refused as expired.
    clock.advance(149_000);
    assert.equal(tokens.cached(token), user);
    clock.advance(2000);
    assert.equal(tokens.cached(token), undefined);
    const expired = await tokens.validate(token);
    assert.ok(isProxyError(expired, 'TOKEN_EXPIRED'));
    assert.equal(tokens.cached(token), expired);
    assert.equal(verifications, 2);
    // Opaque tokens and JWTs of no trusted issuer go to the IdM.
    assert.equal(await tokens.validate('opaque'), null);
    const foreign = await vc.sign({ iss: 'https://elsewhere', exp: 4_000_000_000 });
    assert.equal(await tokens.validate(foreign), null);
    assert.deepEqual(idmCalls, ['opaque', foreign]);
    assert.equal(verifications, 2);
  });
});
