import type { RequestHandler } from 'express';
import type { Store } from '../../store/store.ts';
import { userOf } from '../authenticate.ts';

/**
 * `GET keys`: the caller's buys with their API keys and the public URL of each service, built from
 * the proxy's own scheme and the Host the caller used (port included).
 */
export function keysRoute(
  store: Store,
  options: { https: boolean; port: () => number },
): RequestHandler {
  const scheme = options.https ? 'https' : 'http';
  return async (req, res) => {
    const host = req.headers.host ?? `localhost:${options.port()}`;
    const buys = await store.listBuys({ customer: userOf(res).id });
    res.status(200).json(
      buys.map((buy) => ({
        apiKey: buy.apiKey,
        orderId: buy.orderId,
        productId: buy.productId,
        url: `${scheme}://${host}${buy.publicPath}`,
      })),
    );
  };
}
