/**
 * The settings of JWT access tokens verified by the proxy itself: the trusted issuers of data
 * spaces (FIWARE VCVerifier, DOME's verifier) and the secrets of Keyrock applications that issue
 * JWTs. Each bad entry stops start-up with one line naming it, never echoing a secret.
 */
import { z } from 'zod';
import { configError, type Parse } from './parsers.ts';
import { type EnvironmentVariable, variable } from './variable.ts';

/** Signature algorithms a trusted issuer may use: asymmetric ones only (HS256 is Keyrock's). */
export const ISSUER_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const;

/** Where the customer's key is looked for, in order: VCVerifier's credential, then DOME's. */
export const DEFAULT_IDENTITY_CLAIMS = [
  'verifiableCredential.issuer',
  'verifiableCredential.issuer.id',
  'vc.credentialSubject.mandate.mandator.organizationIdentifier',
  'vc.issuer',
  'sub',
];

export const DEFAULT_CLOCK_TOLERANCE_S = 30;

export interface JwtIssuer {
  issuer: string;
  jwksUrl: string;
  algorithms: string[];
  /** Dotted claim paths; the first one holding a non-empty string is the customer's key. */
  identityClaims: string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  clockTolerance: number;
}

/** A Keyrock application that issues JWT access tokens, and its HS256 secret. */
export interface KeyrockJwtSecret {
  appId: string;
  secret: string;
}

export interface JwtConfig {
  issuers: JwtIssuer[];
  keyrock_secrets: KeyrockJwtSecret[];
}

export const defaultJwtConfig = (): JwtConfig => ({ issuers: [], keyrock_secrets: [] });

const httpUrl = z.string().refine((raw) => {
  try {
    return ['http:', 'https:'].includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const issuerSchema = z.strictObject({
  issuer: z.string().min(1),
  jwksUrl: httpUrl,
  algorithms: z
    .array(
      z.enum(ISSUER_ALGORITHMS, {
        error: `must be one of ${ISSUER_ALGORITHMS.join(', ')} (HS256 is for Keyrock secrets only; never none)`,
      }),
    )
    .min(1)
    .default(['ES256', 'RS256']),
  identityClaims: z
    .array(z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dotted claim path'))
    .min(1)
    .default(DEFAULT_IDENTITY_CLAIMS),
  clockTolerance: z.number().int().min(0).max(3600).default(DEFAULT_CLOCK_TOLERANCE_S),
});

/** `[{"issuer": …, "jwksUrl": …}, …]`: each entry checked, issuers unique. */
const jwtIssuers: Parse<JwtIssuer[]> = (raw, name) => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw configError(`${name} must be a JSON array of {"issuer", "jwksUrl", …} objects`);
  }
  if (!Array.isArray(json)) {
    throw configError(`${name} must be a JSON array of {"issuer", "jwksUrl", …} objects`);
  }
  const seen = new Set<string>();
  return json.map((entry, index) => {
    const parsed = issuerSchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `"${issue.path.join('.')}" ` : '';
      throw configError(`${name} entry ${index + 1}: ${where}${issue?.message ?? 'is invalid'}`);
    }
    if (seen.has(parsed.data.issuer)) {
      throw configError(`${name} entry ${index + 1}: issuer "${parsed.data.issuer}" is repeated`);
    }
    seen.add(parsed.data.issuer);
    return parsed.data;
  });
};

/** `<appId>:<secret>,…`; a bad entry is named by its position and app, never by its secret. */
const keyrockSecrets: Parse<KeyrockJwtSecret[]> = (raw, name) => {
  const seen = new Set<string>();
  return raw
    .split(',')
    .filter((entry) => entry.trim() !== '')
    .map((entry, index) => {
      const colon = entry.indexOf(':');
      const appId = colon === -1 ? '' : entry.slice(0, colon).trim();
      const secret = colon === -1 ? '' : entry.slice(colon + 1).trim();
      if (appId === '' || secret === '') {
        throw configError(`${name} entry ${index + 1} must be <appId>:<secret>`);
      }
      if (seen.has(appId)) {
        throw configError(`${name} entry ${index + 1}: application "${appId}" is repeated`);
      }
      seen.add(appId);
      return { appId, secret };
    });
};

export const jwtVariables: readonly EnvironmentVariable[] = [
  variable(
    'JWT_ISSUERS',
    'jwt.issuers',
    jwtIssuers,
    'trusted issuers of JWT access tokens, verified locally: a JSON array of `{"issuer", "jwksUrl", "algorithms", "identityClaims", "clockTolerance"}` (only the first two required)',
  ),
  variable(
    'KEYROCK_JWT_SECRETS',
    'jwt.keyrock_secrets',
    keyrockSecrets,
    'HS256 secrets of Keyrock applications that issue JWT access tokens, `<appId>:<secret>,…` (never logged)',
  ),
];
