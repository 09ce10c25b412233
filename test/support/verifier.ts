/**
 * Stand-ins for the verifiers that issue data-space access tokens (tmf-v4.md §B3), faithful to
 * what they publish and sign: the FIWARE VCVerifier (JWKS at `/.well-known/jwks`, RS256 or ES256,
 * a key generated at every start, the full credential in `verifiableCredential`) and DOME's IN2
 * verifier (JWKS at `/oidc/jwks`, ES256, the LEAR credential in `vc`). And Keyrock's JWTs: the
 * `/user` document signed HS256 with the application's secret.
 */
import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { listenOnLoopback, type TestServer } from './http-server.ts';
import type { KeyrockUser } from './idm.ts';

export type VerifierKind = 'vcverifier' | 'dome';

export interface FakeVerifier extends TestServer {
  kind: VerifierKind;
  alg: 'RS256' | 'ES256';
  /** The `iss` of its tokens. */
  issuer: string;
  jwksUrl: string;
  /** The current signing key's id; changes at every restart. */
  kid: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  /** JWKS requests served so far. */
  fetches: number;
  /** While set, the JWKS endpoint answers this status instead. */
  failWith: number | undefined;
  /** A restart as the VCVerifier does one: a new key, a new kid, the old key gone. */
  restart(): Promise<void>;
  /** A token for `customer` (a DID, or DOME's organization identifier) to use `service`. */
  token(customer: string, service: string | string[], options?: TokenOptions): Promise<string>;
  /** Signs any payload and header with the current key. */
  sign(payload: JWTPayload, header?: Record<string, unknown>): Promise<string>;
}

export interface TokenOptions {
  /** Seconds from now; negative for an expired token. Default 1800 (VCVerifier's 30 min). */
  expiresIn?: number;
  /** Seconds from now the token becomes valid (`nbf`). */
  notBefore?: number;
  /** Claims that replace or add to the verifier's own. */
  claims?: JWTPayload;
}

const now = () => Math.floor(Date.now() / 1000);

/** VCVerifier with `fullInclusion`: an OperatorCredential issued by the customer's organization. */
function vcVerifierClaims(issuer: string, customer: string, service: string[]): JWTPayload {
  return {
    iss: issuer,
    aud: service,
    sub: `did:key:holder-${customer.slice(-6)}`,
    verifiableCredential: {
      '@context': [
        'https://www.w3.org/2018/credentials/v1',
        'https://www.w3.org/ns/credentials/v1',
      ],
      type: ['VerifiableCredential', 'OperatorCredential'],
      id: `urn:uuid:${randomUUID()}`,
      issuer: customer,
      issuanceDate: '2026-11-01T00:00:00Z',
      credentialSubject: {
        id: `urn:uuid:${randomUUID()}`,
        email: 'operator@acme.example',
        roles: [{ names: ['OPERATOR'], target: 'did:web:provider.example' }],
      },
    },
  };
}

/** DOME's IN2 verifier: a LEARCredentialEmployee whose mandator is the customer organization. */
function domeClaims(issuer: string, organization: string, service: string[]): JWTPayload {
  return {
    iss: issuer,
    aud: service,
    sub: 'did:key:zDnaeEmployee',
    jti: randomUUID(),
    scope: 'openid learcredential',
    client_id: 'did:key:zDnaeClient',
    vc: {
      '@context': ['https://www.w3.org/ns/credentials/v2', 'https://dome-marketplace.eu/2022/v1'],
      id: `urn:uuid:${randomUUID()}`,
      type: ['LEARCredentialEmployee', 'VerifiableCredential'],
      issuer: 'did:elsi:VATEU-B99999999',
      validFrom: '2026-11-01T00:00:00Z',
      validUntil: '2027-11-01T00:00:00Z',
      credentialSubject: {
        mandate: {
          id: `urn:uuid:${randomUUID()}`,
          mandator: {
            organizationIdentifier: organization,
            organization: 'ACME Data SL',
            commonName: 'Ana Admin',
            emailAddress: 'ana@acme.example',
            country: 'ES',
          },
          mandatee: {
            id: 'did:key:zDnaeEmployee',
            email: 'eve@acme.example',
            firstName: 'Eve',
            lastName: 'Employee',
          },
          power: [{ type: 'domain', domain: 'DOME', function: 'Onboarding', action: ['execute'] }],
        },
      },
    },
  };
}

export async function startFakeVerifier(
  kind: VerifierKind,
  alg: 'RS256' | 'ES256' = kind === 'dome' ? 'ES256' : 'RS256',
): Promise<FakeVerifier> {
  const path = kind === 'dome' ? '/oidc/jwks' : '/.well-known/jwks';
  let verifier: FakeVerifier;
  const server = await listenOnLoopback((req, res) => {
    if (req.method !== 'GET' || req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    verifier.fetches++;
    if (verifier.failWith !== undefined) {
      res.writeHead(verifier.failWith, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [verifier.publicJwk] }));
  });
  const newKey = async () => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    return {
      kid,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    };
  };
  verifier = Object.assign(server, {
    kind,
    alg,
    issuer: server.url,
    jwksUrl: `${server.url}${path}`,
    fetches: 0,
    failWith: undefined as number | undefined,
    ...(await newKey()),
    async restart() {
      Object.assign(verifier, await newKey());
    },
    sign(payload: JWTPayload, header: Record<string, unknown> = {}) {
      return new SignJWT(payload)
        .setProtectedHeader({ alg, typ: 'JWT', kid: verifier.kid, ...header })
        .sign(verifier.privateKey);
    },
    token(customer: string, service: string | string[], options: TokenOptions = {}) {
      const audience = Array.isArray(service) ? service : [service];
      const claims =
        kind === 'dome'
          ? domeClaims(verifier.issuer, customer, audience)
          : vcVerifierClaims(verifier.issuer, customer, audience);
      const iat = now();
      return verifier.sign({
        ...claims,
        iat,
        exp: iat + (options.expiresIn ?? 1800),
        ...(options.notBefore === undefined ? {} : { nbf: iat + options.notBefore }),
        ...options.claims,
      });
    },
  });
  return verifier;
}

/** A Keyrock JWT access token: the `/user` document, HS256 with the application's secret. */
export function keyrockJwt(user: KeyrockUser, secret: string, expiresIn = 3600): Promise<string> {
  const iat = now();
  return new SignJWT({ ...user, sub: user.id, iat, exp: iat + expiresIn })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

/** The `ACCOUNTING_PROXY_JWT_ISSUERS` entry of a verifier. */
export const issuerSetting = (verifier: FakeVerifier, extra: Record<string, unknown> = {}) => ({
  issuer: verifier.issuer,
  jwksUrl: verifier.jwksUrl,
  ...extra,
});
