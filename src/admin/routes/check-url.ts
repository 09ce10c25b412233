import type { RequestHandler } from 'express';
import type { Clock } from '../../clock.ts';
import { proxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { pathOfUrl, resolveService } from '../../services/resolve-service.ts';
import type { Store } from '../../store/store.ts';
import { userOf } from '../authenticate.ts';
import { checkUrlSchema, parseBody } from '../schemas.ts';

/**
 * `POST urls`: the marketplace asks whether the seller (the token's user) administers the service an
 * asset URL points to, and hands over in `X-API-KEY` the token for reporting usage.
 */
export function checkUrlRoute(store: Store, log: Logger, clock: Clock): RequestHandler {
  return async (req, res) => {
    const { url } = parseBody(checkUrlSchema, req.body);
    if (!url) throw proxyError('ADMIN_MISSING_URL');
    const path = pathOfUrl(url);
    if (path === undefined) throw proxyError('ADMIN_INVALID_URL', url);
    const service = await resolveService(store, path);
    const admins = service ? await store.getAdmins(service.publicPath) : [];
    if (!admins.includes(userOf(res).id)) throw proxyError('ADMIN_NOT_SERVICE_ADMIN');
    const marketplaceToken = req.headers['x-api-key'];
    if (typeof marketplaceToken === 'string' && marketplaceToken !== '') {
      // Kept beside the earlier keys: the marketplace commits this one only after our 200.
      await store.addMarketplaceKey(marketplaceToken, new Date(clock.now()));
      log.info('marketplace key for usage reporting received');
    }
    res.status(200).end();
  };
}
