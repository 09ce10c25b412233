import { type Config, loadConfig } from '../../config.ts';
import { createLogger } from '../../src/log.ts';
import { createAccessLog } from '../../src/ops/access-log.ts';
import { type ProxyOverrides, type RunningProxy, startProxy } from '../../src/server.ts';
import type { Store } from '../../src/store/store.ts';
import { type FakeBackend, startFakeBackend } from './backend.ts';
import { type FakeIdm, keyrockUser, startFakeIdm } from './idm.ts';

export interface ProxyFixture {
  url: string;
  proxy: RunningProxy;
  store: Store;
  idm: FakeIdm;
  backend: FakeBackend;
  /** Headers of a buyer (alice) with the API key of her buy for `unit`. */
  buyer(unit?: 'call' | 'megabyte' | 'millisecond'): Record<string, string>;
  close(): Promise<void>;
}

export const APP_ID = 'app-1';
export const API_KEYS = {
  call: 'key-call',
  megabyte: 'key-megabyte',
  millisecond: 'key-millisecond',
};

/**
 * A running proxy (in this process, port 0) with a fake IdM and backend and this data:
 * service /svc → backend (GET POST PUT DELETE HEAD) for app-1, admin `root` bound to it, buys of
 * alice for each unit; service /other for app-1 with a buy of bob; the complete path /exact?x=1.
 */
export async function startProxyFixture(
  database: Config['database'],
  env: NodeJS.ProcessEnv = {},
  overrides: ProxyOverrides = {},
): Promise<ProxyFixture> {
  const idm = await startFakeIdm();
  const backend = await startFakeBackend();
  idm.users.set('alice-token', keyrockUser('alice', APP_ID, ['customer-role', '106']));
  idm.users.set('bob-token', keyrockUser('bob', APP_ID));
  idm.users.set('root-token', keyrockUser('root', APP_ID));
  idm.users.set('other-app-token', keyrockUser('alice', 'app-2'));

  const config = loadConfig({ ACCOUNTING_PROXY_IDM_URL: idm.url, ...env });
  config.database = database;
  // A test that must know the port before start (a callback URL given to a marketplace) sets it.
  if (env.ACCOUNTING_PROXY_PORT === undefined) config.accounting_proxy.port = 0;
  // Tests that read the ops listener give it a free port; many fixtures run at once.
  if (env.ACCOUNTING_PROXY_OPS_PORT === undefined) config.ops.port = 0;
  config.oauth2.roles.customer = 'customer-role';
  // When Orion support is on, its notification listener takes any free loopback port.
  config.resources.notification_port = 0;
  config.resources.notification_bind = '127.0.0.1';
  config.resources.notification_host = '127.0.0.1';
  const proxy = await startProxy(config, createLogger('silent'), {
    accessLog: createAccessLog({ write: () => {}, now: Date.now }),
    ...overrides,
  });
  const store = proxy.store;

  await store.addService({
    publicPath: '/svc',
    url: backend.url,
    appId: APP_ID,
    methods: ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'],
    isContextBroker: false,
  });
  await store.addService({
    publicPath: '/other',
    url: backend.url,
    appId: APP_ID,
    methods: ['GET'],
    isContextBroker: false,
  });
  await store.addService({
    publicPath: '/exact?x=1',
    url: `${backend.url}/echo/exact?y=2`,
    appId: APP_ID,
    methods: ['GET'],
    isContextBroker: false,
  });
  await store.addAdmin('root');
  await store.bindAdmin('root', '/svc');
  for (const [unit, apiKey] of Object.entries(API_KEYS)) {
    await store.addBuy({
      apiKey,
      publicPath: '/svc',
      orderId: `o-${unit}`,
      productId: `p-${unit}`,
      customer: 'alice',
      unit,
      recordType: `${unit}usage`,
    });
  }
  await store.addBuy({
    apiKey: 'key-exact',
    publicPath: '/exact?x=1',
    orderId: 'o-e',
    productId: 'p-e',
    customer: 'alice',
    unit: 'call',
    recordType: 'callusage',
  });
  await store.addBuy({
    apiKey: 'key-bob',
    publicPath: '/other',
    orderId: 'o-b',
    productId: 'p-b',
    customer: 'bob',
    unit: 'call',
    recordType: 'callusage',
  });
  await proxy.routing.refresh();

  return {
    url: `${config.accounting_proxy.https.enabled ? 'https' : 'http'}://127.0.0.1:${proxy.port}`,
    proxy,
    store,
    idm,
    backend,
    buyer: (unit = 'call') => ({ 'x-auth-token': 'alice-token', 'x-api-key': API_KEYS[unit] }),
    async close() {
      await proxy.close();
      await Promise.all([idm.close(), backend.close()]);
    },
  };
}
