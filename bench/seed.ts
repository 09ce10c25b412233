import type { Config } from '../config.ts';
import { openStore } from '../src/store/open.ts';

/**
 * What every benchmark runs against: service /bench → the backend (GET, application bench-app),
 * admin `admin` bound to it, buyer's `call` buy `key-call` and `megabyte` buy `key-mb`.
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
  await store.close();
}
