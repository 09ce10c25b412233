import type { RequestHandler } from 'express';
import { clientAccess } from '../../adapter/messages.ts';
import { isCustomerOf } from '../../buys/customer.ts';
import type { Buy, Store } from '../../store/store.ts';
import { userOf } from '../authenticate.ts';

/** What the buyer of an adapter service connects with: its credentials, the endpoint, the config. */
async function accessOf(store: Store, buy: Buy) {
  if (!buy.access) return {};
  const [service, product] = await Promise.all([
    store.getService(buy.publicPath),
    store.findProduct(buy.publicPath),
  ]);
  return service ? { access: clientAccess(service, product, buy.access) } : {};
}

/**
 * `GET keys`: the caller's buys with their API keys and the public URL of each service, built from
 * the proxy's own scheme and the Host the caller used (port included); a buy of an adapter service
 * adds its `access`.
 */
export function keysRoute(store: Store, options: { https: boolean }): RequestHandler {
  const scheme = options.https ? 'https' : 'http';
  return async (req, res) => {
    // Without a Host header: the port the request came in on, which is the proxy's.
    const host = req.headers.host ?? `localhost:${req.socket.localPort}`;
    const user = userOf(res);
    // The caller's own buys, and those of the TMF v4 marketplace whose customer party it is.
    const buys = (await store.listBuys()).filter((buy) => isCustomerOf(buy, user));
    res.status(200).json(
      await Promise.all(
        buys.map(async (buy) => ({
          apiKey: buy.apiKey,
          orderId: buy.orderId,
          productId: buy.productId,
          url: `${scheme}://${host}${buy.publicPath}`,
          ...(await accessOf(store, buy)),
        })),
      ),
    );
  };
}
