import type { Config } from '../config.ts';
import { openStore } from '../src/store/open.ts';

/**
 * What every benchmark runs against: service /bench → the backend (GET, application bench-app),
 * admin `admin` bound to it, buyer's `call` buy `key-call`, `megabyte` buy `key-mb` and `token` buy
 * `key-token` (served when the proxy loads the token unit).
 */
export async function seedBenchStore(database: Config['database'], backendUrl: string) {
  const store = await openStore(database);
  await store.addService({
    publicPath: '/bench',
    url: backendUrl,
    appId: 'bench-app',
    methods: ['GET'],
    isContextBroker: false,
  });
  await store.addAdmin('admin');
  await store.bindAdmin('admin', '/bench');
  const buy = { publicPath: '/bench', customer: 'buyer' };
  await store.addBuy({
    ...buy,
    apiKey: 'key-call',
    orderId: 'o1',
    productId: 'p1',
    unit: 'call',
    recordType: 'callusage',
  });
  await store.addBuy({
    ...buy,
    apiKey: 'key-mb',
    orderId: 'o2',
    productId: 'p2',
    unit: 'megabyte',
    recordType: 'datausage',
  });
  await store.addBuy({
    ...buy,
    apiKey: 'key-token',
    orderId: 'o3',
    productId: 'p3',
    unit: 'token',
    recordType: 'tokenusage',
  });
  await store.close();
}
