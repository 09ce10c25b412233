/** The error table's entries for access tokens (see error-table.ts): Keyrock's, then JWTs'. */
export const tokenErrorEntries = {
  // Proxy path: authentication (messages of the original, which clients match on)
  TOKEN_MISSING: { status: 401, message: () => 'Auth-token not found in request headers' },
  TOKEN_TYPE: {
    status: 401,
    message: (type: string) => `Invalid Auth-Token type (${type})`,
  },
  TOKEN_INVALID: { status: 401, message: () => 'Invalid Auth-Token' },
  IDM_UNAVAILABLE: { status: 503, message: () => 'Identity manager unavailable' },
  TOKEN_SCOPE: {
    status: 401,
    message: () => 'The auth-token scope is not valid for the current application',
  },
  // Proxy path: JWT access tokens verified by the proxy (src/auth/jwt-verifier.ts)
  TOKEN_TOO_LARGE: {
    status: 401,
    message: (limit: number) => `The access token is longer than ${limit} bytes`,
  },
  TOKEN_MALFORMED: {
    status: 401,
    message: () => 'The access token is not a well-formed JWT',
  },
  TOKEN_ALGORITHM: {
    status: 401,
    message: (alg: string) => `The access token's algorithm "${alg}" is not accepted`,
  },
  TOKEN_SIGNATURE: {
    status: 401,
    message: () => "The access token's signature does not verify",
  },
  TOKEN_KEY_UNKNOWN: {
    status: 401,
    message: () => "No key of the token's issuer matches the access token",
  },
  TOKEN_EXPIRED: { status: 401, message: () => 'The access token has expired' },
  TOKEN_NOT_YET_VALID: { status: 401, message: () => 'The access token is not valid yet' },
  TOKEN_CLAIMS: {
    status: 401,
    message: (problem: string) => `The access token's claims are not accepted: ${problem}`,
  },
  TOKEN_IDENTITY: {
    status: 401,
    message: (claims: string) => `The access token names no customer (none of ${claims})`,
  },
  TOKEN_AUDIENCE: {
    status: 401,
    message: () => "The access token's audience does not include this service",
  },
  JWKS_UNAVAILABLE: {
    status: 503,
    message: (issuer: string) => `The signing keys of token issuer "${issuer}" are unavailable`,
  },
} as const;
