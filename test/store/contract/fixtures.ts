/** Fixtures and helpers shared by the store contract suites. */
import assert from 'node:assert/strict';
import type { Config } from '../../../config.ts';
import { isProxyError } from '../../../src/errors.ts';
import type { Buy, Service, Store, Subscription } from '../../../src/store/store.ts';

export interface StoreFixture {
  store: Store;
  /** Another connection to the same data, as a second process would have. */
  reopen(): Promise<Store>;
  /** The database configuration a child process uses to reach the same data. */
  database: Config['database'];
}

export interface StoreHarness {
  create(): Promise<StoreFixture>;
}

export const weather: Service = {
  publicPath: '/weather',
  url: 'http://localhost:5000',
  appId: 'app-1',
  methods: ['GET', 'POST'],
  isContextBroker: false,
};
export const orion: Service = {
  publicPath: '/orion',
  url: 'http://orion:1026/base',
  appId: 'app-2',
  methods: ['GET', 'POST', 'PATCH', 'DELETE'],
  isContextBroker: true,
};
export const buy = (apiKey: string, overrides: Partial<Buy> = {}): Buy => ({
  apiKey,
  publicPath: '/weather',
  orderId: `order-${apiKey}`,
  productId: `product-${apiKey}`,
  customer: 'alice',
  unit: 'call',
  recordType: 'callusage',
  ...overrides,
});

export const subscription = (
  subscriptionId: string,
  apiKey: string,
  overrides: Partial<Subscription> = {},
): Subscription => ({
  subscriptionId,
  apiKey,
  notificationUrl: 'http://a/1',
  version: 'v2',
  secret: `secret-${subscriptionId}`,
  fiwareService: 'tenant',
  fiwareServicePath: '/rooms',
  ...overrides,
});

export const rejectsWith = (promise: Promise<unknown>, code: Parameters<typeof isProxyError>[1]) =>
  assert.rejects(promise, (error) => isProxyError(error, code));

/** What each concern's suite works with: the store of the running test, and a second connection. */
export interface ContractContext {
  /** Forwards to the store of the running test. */
  store: Store;
  /** Another connection to the same data, as a second process would have. */
  reopen(): Promise<Store>;
  /** The database configuration a child process uses to reach the same data. */
  database(): Config['database'];
}
