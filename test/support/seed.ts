import type { Config } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * A store with service /svc → `backendUrl` (GET, application app-1) and alice's buy `key` with
 * order `o` and product `p` in `unit`: the setup of the tests that run the proxy as a process.
 */
export async function seedOneBuy(
  database: Config['database'],
  backendUrl: string,
  unit = 'call',
): Promise<Store> {
  const store = await openStore(database);
  await addOneBuy(store, backendUrl, unit);
  return store;
}

/** Adds what `seedOneBuy` describes to a store already open. */
export async function addOneBuy(store: Store, backendUrl: string, unit = 'call'): Promise<void> {
  await store.addService({
    publicPath: '/svc',
    url: backendUrl,
    appId: 'app-1',
    methods: ['GET'],
    isContextBroker: false,
  });
  await store.addBuy({
    apiKey: 'key',
    publicPath: '/svc',
    orderId: 'o',
    productId: 'p',
    customer: 'alice',
    unit,
    recordType: `${unit}usage`,
  });
}
