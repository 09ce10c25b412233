import type { IncomingHttpHeaders } from 'node:http';
import { type AccountingProxyError, isProxyError, proxyError } from '../errors.ts';
import { extractToken } from './extract-token.ts';
import type { IdmUser } from './idm-client.ts';
import type { TokenValidator } from './token-validator.ts';

export interface Identity {
  token: string;
  user: IdmUser;
}

type Resolved = Identity | AccountingProxyError;

// The validator hands out one user object per cached token: one identity per user and token,
// not one per request.
const identities = new WeakMap<IdmUser, Identity>();

function verdict(token: string, user: IdmUser | null): Resolved {
  if (!user) return proxyError('TOKEN_INVALID');
  const known = identities.get(user);
  if (known?.token === token) return known;
  const identity = { token, user };
  identities.set(user, identity);
  return identity;
}

/**
 * The IdM user behind a request's token, or why there is none (TOKEN_MISSING, TOKEN_TYPE,
 * TOKEN_INVALID, IDM_UNAVAILABLE). Synchronous for a token without one or already cached, so the
 * proxy path pays no promise on a warm request; a promise only when the IdM has to be asked.
 */
export function resolveUser(
  tokens: TokenValidator,
  headers: IncomingHttpHeaders,
): Resolved | Promise<Resolved> {
  const token = extractToken(headers);
  if (typeof token !== 'string') return token;
  if (token === '') return proxyError('TOKEN_INVALID');
  const known = tokens.cached(token);
  if (known !== undefined) return verdict(token, known);
  return tokens.validate(token).then(
    (user) => verdict(token, user),
    (error: unknown) => {
      if (isProxyError(error, 'IDM_UNAVAILABLE')) return error;
      throw error;
    },
  );
}
