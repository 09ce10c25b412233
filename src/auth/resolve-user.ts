import type { IncomingHttpHeaders } from 'node:http';
import { type AccountingProxyError, isProxyError, proxyError } from '../errors.ts';
import type { AccessTokens } from './access-tokens.ts';
import { extractToken } from './extract-token.ts';
import type { IdmUser } from './idm-client.ts';

export interface Identity {
  token: string;
  user: IdmUser;
}

type Resolved = Identity | AccountingProxyError;

// The validator hands out one user object per cached token: one identity per user and token,
// not one per request.
const identities = new WeakMap<IdmUser, Identity>();

/** The longest token the proxy looks at: a data-space JWT with its credential is a few KiB. */
export const MAX_TOKEN_BYTES = 16 * 1024;

function verdict(token: string, user: IdmUser | AccountingProxyError | null): Resolved {
  if (!user) return proxyError('TOKEN_INVALID');
  if (isProxyError(user)) return user;
  const known = identities.get(user);
  if (known?.token === token) return known;
  const identity = { token, user };
  identities.set(user, identity);
  return identity;
}

/**
 * The user behind a request's token, or why there is none (TOKEN_MISSING, TOKEN_TYPE,
 * TOKEN_INVALID, IDM_UNAVAILABLE, a JWT's TOKEN_* or JWKS_UNAVAILABLE). Synchronous for a token without one or already cached, so the
 * proxy path pays no promise on a warm request; a promise only when the IdM has to be asked.
 */
export function resolveUser(
  tokens: AccessTokens,
  headers: IncomingHttpHeaders,
): Resolved | Promise<Resolved> {
  const token = extractToken(headers);
  if (typeof token !== 'string') return token;
  if (token === '') return proxyError('TOKEN_INVALID');
  if (token.length > MAX_TOKEN_BYTES) return proxyError('TOKEN_TOO_LARGE', MAX_TOKEN_BYTES);
  const known = tokens.cached(token);
  if (known !== undefined) return verdict(token, known);
  return tokens.validate(token).then(
    (user) => verdict(token, user),
    (error: unknown) => {
      if (isProxyError(error, 'IDM_UNAVAILABLE') || isProxyError(error, 'JWKS_UNAVAILABLE')) {
        return error;
      }
      throw error;
    },
  );
}
