import type { IncomingHttpHeaders } from 'node:http';
import { type AccountingProxyError, proxyError } from '../errors.ts';

/**
 * The OAuth2 token of a request: `X-Auth-Token` wins, else `Authorization: Bearer <token>` with the
 * scheme matched case-insensitively (the marketplace sends `bearer`).
 */
export function extractToken(headers: IncomingHttpHeaders): string | AccountingProxyError {
  const xAuthToken = headers['x-auth-token'];
  if (typeof xAuthToken === 'string') return xAuthToken;
  const authorization = headers.authorization;
  if (authorization === undefined) return proxyError('TOKEN_MISSING');
  const space = authorization.indexOf(' ');
  const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
  if (scheme !== 'bearer') return proxyError('TOKEN_TYPE', scheme);
  return space === -1 ? '' : authorization.slice(space + 1).trim();
}
