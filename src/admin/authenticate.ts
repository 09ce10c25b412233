import type { RequestHandler } from 'express';
import type { AccessTokens } from '../auth/access-tokens.ts';
import type { IdmUser } from '../auth/idm-client.ts';
import { resolveUser } from '../auth/resolve-user.ts';
import { isProxyError } from '../errors.ts';

/** The IdM user of an authenticated admin-API request. */
export const userOf = (res: { locals: Record<string, unknown> }) => res.locals.user as IdmUser;

/** Requires a valid IdM token (no application check, as for the original's keys and urls). */
export function authenticate(tokens: AccessTokens): RequestHandler {
  return async (req, res, next) => {
    const resolved = await resolveUser(tokens, req.headers);
    if (isProxyError(resolved)) return next(resolved);
    res.locals.user = resolved.user;
    next();
  };
}
