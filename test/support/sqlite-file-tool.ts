/**
 * Run as its own process (`node --import tsx sqlite-file-tool.ts <action> <file> [driver]`), so
 * that a SQLite file can be handed between Node lines and drivers:
 * - `seed`: writes one of everything the store keeps (services, admins, buys, pending usage, an
 *   outbox record, a revoked buy, a subscription, keys, hrefs, an adapter product and session, a lock);
 * - `change`: moves each of those on a step (usage committed, a record completed, a session updated…);
 * - `dump`: prints as JSON what the store answers about all of it, with the driver that read it;
 * - `quiet`: opens the file as the proxy does (checkpoint worker, write probe), waits for a
 *   checkpoint and closes: whatever it writes on stderr is what the proxy would.
 */
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/open-database.ts';
import { schemaVersion } from '../../src/store/sqlite/schema.ts';
import type { Store } from '../../src/store/store.ts';
import { SESSION_RATES } from './session-rates.ts';

type Driver = 'node:sqlite' | 'better-sqlite3' | undefined;

const SERVICES = ['/weather', '/orion', '/vpn'];
const DAY_MS = 86_400_000;
const at = (day: number) => new Date(Date.UTC(2026, 11, day));

async function seed(store: Store): Promise<void> {
  const service = { url: 'http://127.0.0.1:5000', methods: ['GET'], isContextBroker: false };
  await store.addService({ ...service, publicPath: '/weather', appId: 'app-1' });
  await store.addService({
    ...service,
    publicPath: '/orion',
    appId: 'app-2',
    isContextBroker: true,
  });
  await store.addService({ ...service, publicPath: '/vpn', appId: 'app-3', adapter: true });
  await store.addAdmin('bob');
  await store.bindAdmin('bob', '/weather');
  const buy = (apiKey: string, publicPath: string, unit: string) => ({
    apiKey,
    publicPath,
    orderId: `order-${apiKey}`,
    productId: `product-${apiKey}`,
    customer: 'alice',
    unit,
    recordType: `${unit}usage`,
  });
  await store.addBuy(buy('k1', '/weather', 'call'));
  await store.addBuy(buy('k2', '/orion', 'megabyte'));
  await store.addBuy({
    ...buy('k3', '/vpn', 'megabyte'),
    access: { clientKey: 'client-3', clientPassword: 'secret-3' },
  });
  await store.addBuy(buy('k4', '/weather', 'millisecond'));
  await store.addUsage(
    [
      { apiKey: 'k1', amount: 3 },
      { apiKey: 'k2', amount: 1.5 },
      { apiKey: 'k4', amount: 250 },
    ],
    { writer: 'proxy-a', seq: 1 },
  );
  await store.prepareRecord('k1', at(1));
  await store.setReportStatus('k1', 0, {
    state: 'unknown',
    message: 'no answer',
    since: at(1).toISOString(),
    lastAttempt: at(1).toISOString(),
  });
  await store.revokeBuy('k4');
  await store.addSubscription({
    subscriptionId: 'sub-1',
    apiKey: 'k2',
    notificationUrl: 'http://consumer/notify',
    version: 'v2',
    secret: 'sub-secret',
    fiwareService: 'tenant',
    fiwareServicePath: '/rooms',
  });
  await store.addMarketplaceKey('marketplace-key-1', at(1));
  await store.setSpecificationHref('call', 'http://usage/usageSpecification/1');
  await store.setProduct({
    productId: '3f1c0f3e-0000-4000-8000-000000000001',
    publicPath: '/vpn',
    passwordHash: 'hash',
    config: { protocol: 'udp' },
  });
  await store.recordSession('client-3', { kind: 'start' }, at(1).getTime());
  await store.acquireLock('usage-report', 'proxy-a', 10_000 * DAY_MS);
}

async function change(store: Store): Promise<void> {
  await store.addUsage([{ apiKey: 'k1', amount: 4 }], { writer: 'proxy-a', seq: 2 });
  // Already applied: a batch is counted once, whichever driver sees it again.
  await store.addUsage([{ apiKey: 'k1', amount: 4 }], { writer: 'proxy-a', seq: 1 });
  await store.completeRecord('k1', 0);
  await store.recordSession('client-3', { kind: 'update', units: 2_000_000 }, at(2).getTime());
  await store.addBuy({
    apiKey: 'k5',
    publicPath: '/orion',
    orderId: 'order-k5',
    productId: 'product-k5',
    customer: 'carol',
    unit: 'call',
    recordType: 'callusage',
  });
  await store.updateSubscriptionUrl('sub-1', 'http://consumer/notify-2');
  await store.addAdmin('carol');
  await store.bindAdmin('carol', '/orion');
  await store.setMarketplaceKeyState('marketplace-key-1', 'accepted', at(2));
  await store.addMarketplaceKey('marketplace-key-2', at(2));
}

async function dump(store: Store) {
  const routing = await store.loadRoutingState();
  const usage = await store.listUsage();
  return {
    routing,
    routingVersion: await store.routingVersion(),
    admins: await store.listAdmins(),
    usage,
    subscriptions: await Promise.all(usage.map((buy) => store.listSubscriptions(buy.apiKey))),
    products: await Promise.all(SERVICES.map((path) => store.findProduct(path))),
    client: await store.getClient('client-3'),
    marketplaceKeys: await store.listMarketplaceKeys(),
    hrefs: await Promise.all(['call', 'megabyte'].map((unit) => store.getSpecificationHref(unit))),
    lockOwner: await store.lockOwner('usage-report'),
  };
}

/** Opens as the proxy does, waits for the checkpoint worker's first round, and closes. */
async function quiet(filename: string, driver: Driver): Promise<void> {
  let checkpointed: () => void = () => {};
  const firstCheckpoint = new Promise<void>((resolve) => {
    checkpointed = resolve;
  });
  const store = openSqliteStore({
    filename,
    driver,
    backgroundCheckpoints: {
      intervalMs: 5,
      onCheckpoint: () => checkpointed(),
      onError: (message) => process.stderr.write(`${message}\n`),
    },
  });
  await store.probe();
  await firstCheckpoint;
  await store.close();
}

async function main(): Promise<void> {
  const [action, filename, driverArgument] = process.argv.slice(2);
  if (!action || !filename) throw new Error('usage: sqlite-file-tool <action> <file> [driver]');
  const driver = driverArgument as Driver;
  if (action === 'quiet') return quiet(filename, driver);
  const store = openSqliteStore({ filename, driver, sessionRates: SESSION_RATES });
  try {
    if (action === 'seed') await seed(store);
    else if (action === 'change') await change(store);
    else if (action === 'dump') {
      const data = await dump(store);
      const db = openSqliteDatabase(filename, { driver, readOnly: true });
      const schema = schemaVersion(db);
      db.close();
      process.stdout.write(JSON.stringify({ driver: store.driver, schema, data }));
    } else throw new Error(`unknown action ${action}`);
  } finally {
    await store.close();
  }
}

await main();
