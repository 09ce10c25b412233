import type { RequestHandler } from 'express';
import { extractToken } from '../auth/extract-token.ts';
import type { IdmUser } from '../auth/idm-client.ts';
import type { TokenValidator } from '../auth/token-validator.ts';
import { isProxyError, proxyError } from '../errors.ts';

/** The IdM user of an authenticated admin-API request. */
export const userOf = (res: { locals: Record<string, unknown> }) => res.locals.user as IdmUser;

/** Requires a valid IdM token (no application check, as for the original's keys and urls). */
export function authenticate(tokens: TokenValidator): RequestHandler {
  return async (req, res, next) => {
    const token = extractToken(req.headers);
    if (typeof token !== 'string') return next(token);
    if (token === '') return next(proxyError('TOKEN_INVALID'));
    let user: IdmUser | null;
    try {
      user = tokens.cached(token) ?? (await tokens.validate(token));
    } catch (error) {
      if (isProxyError(error, 'IDM_UNAVAILABLE')) return next(error);
      throw error;
    }
    if (!user) return next(proxyError('TOKEN_INVALID'));
    res.locals.user = user;
    next();
  };
}
