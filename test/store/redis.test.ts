import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { type Config, defaultConfig } from '../../config.ts';
import { redisConnectionOptions } from '../../src/store/open.ts';
import { openRedisStore } from '../../src/store/redis/index.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { addOneBuy } from '../support/seed.ts';
import { SESSION_RATES } from '../support/session-rates.ts';
import { storeContract } from './contract/index.ts';

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(() => server.stop());
let prefixes = 0;

const databaseOf = (prefix: string): Config['database'] => ({
  ...defaultConfig().database,
  type: 'redis',
  name: '0',
  redis_host: '127.0.0.1',
  redis_port: server.port,
  redis_prefix: prefix,
});
const openWithPrefix = (prefix: string) =>
  openRedisStore({ ...redisConnectionOptions(databaseOf(prefix)), sessionRates: SESSION_RATES });

storeContract('Redis', {
  async create() {
    // A fresh key prefix per test isolates tests sharing one redis-server.
    const prefix = `test-${++prefixes}:`;
    return {
      store: await openWithPrefix(prefix),
      reopen: () => openWithPrefix(prefix),
      database: databaseOf(prefix),
    };
  },
});

test('with WAIT_REPLICAS, a usage record is neither taken out for sending nor completed until a replica has it', async () => {
  // A failover to a replica that lacks them would otherwise send the record's number again with
  // another value (seen on a Sentinel group: the second record's usage was lost).
  const prefix = 'durable-report:';
  const store = await openWithPrefix(prefix);
  const waiting = await openRedisStore({
    ...redisConnectionOptions(databaseOf(prefix)),
    waitReplicas: 1,
  });
  try {
    await addOneBuy(store, 'http://127.0.0.1:1');
    await store.addUsage([{ apiKey: 'key', amount: 2 }]);
    const unacknowledged = /acknowledged by 0 of 1 replicas/;
    await assert.rejects(waiting.prepareRecord('key', new Date()), unacknowledged);
    const record = await store.prepareRecord('key', new Date());
    assert.equal(record?.outbox.value, 2);
    await assert.rejects(waiting.completeRecord('key', 0), unacknowledged);
  } finally {
    await waiting.close();
    await store.close();
  }
});

test('every key of the store carries its hash tag, so a Cluster keeps them in one slot', async () => {
  const prefix = 'tagged:';
  const raw = new Redis({ host: '127.0.0.1', port: server.port });
  const store = await openWithPrefix(prefix);
  try {
    await store.addService({
      publicPath: '/s',
      url: 'http://b',
      appId: 'a',
      methods: ['GET'],
      isContextBroker: false,
    });
    await store.addAdmin('root');
    await store.bindAdmin('root', '/s');
    const buy = {
      apiKey: 'k',
      publicPath: '/s',
      orderId: 'o',
      productId: 'p',
      customer: 'c',
      unit: 'call',
      recordType: 'callusage',
    };
    await store.addBuy(buy);
    await store.addUsage([{ apiKey: 'k', amount: 1 }], { writer: 'w', seq: 1 });
    await store.acquireLock('report', 'me', 1000);
    await store.addMarketplaceKey('m', new Date());
    const keys = await raw.keys(`*${prefix}*`);
    assert.ok(keys.length > 5);
    for (const key of keys) assert.ok(key.startsWith(`{${prefix}}`), key);
  } finally {
    await store.close();
    raw.disconnect();
  }
});

/** A store as the first key layout wrote it (before the hash tag), key by key. */
async function writeFirstLayout(raw: Redis, P: string) {
  const identity = (orderId: string, customer: string) =>
    JSON.stringify([orderId, 'prod', customer, '/svc']);
  await raw.sadd(`${P}services`, '/svc', '/other');
  await raw.hset(`${P}service:/svc`, {
    url: 'http://backend/',
    appId: 'app',
    methods: 'GET,POST',
    isContextBroker: '0',
  });
  await raw.hset(`${P}service:/other`, {
    url: 'http://orion/',
    appId: 'app2',
    methods: 'GET',
    isContextBroker: '1',
  });
  await raw.sadd(`${P}admins`, 'root', 'idle');
  await raw.sadd(`${P}service-admins:/svc`, 'root');
  await raw.sadd(`${P}admin-services:root`, '/svc');
  await raw.set(`${P}routing-version`, '7');
  await raw.set(`${P}buy-seq`, '2');
  await raw.zadd(`${P}buys`, 1, 'key-1');
  await raw.hset(`${P}buy:key-1`, {
    publicPath: '/svc',
    orderId: 'o1',
    productId: 'prod',
    customer: 'alice',
    unit: 'call',
    recordType: 'callusage',
    pending: '3',
    correlationNumber: '4',
    revoked: '0',
    seq: '1',
    identity: identity('o1', 'alice'),
    lastRecordDate: '2026-01-01T00:00:00.000Z',
  });
  await raw.set(`${P}buy-identity:${identity('o1', 'alice')}`, 'key-1');
  // A revoked buy whose last record waits for the marketplace.
  await raw.sadd(`${P}revoked-buys`, 'key-2');
  await raw.hset(`${P}buy:key-2`, {
    publicPath: '/svc',
    orderId: 'o2',
    productId: 'prod',
    customer: 'bob',
    unit: 'megabyte',
    recordType: 'data',
    pending: '0',
    correlationNumber: '1',
    revoked: '1',
    seq: '2',
    identity: identity('o2', 'bob'),
    outboxValue: '0.5',
    outboxDate: '2026-02-01T00:00:00.000Z',
    reportStatus: JSON.stringify({
      state: 'unknown',
      message: 'timeout',
      since: '2026-02-01T00:00:00.000Z',
      lastAttempt: '2026-02-01T00:00:00.000Z',
    }),
  });
  await raw.set(`${P}buy-identity:${identity('o2', 'bob')}`, 'key-2');
  await raw.sadd(`${P}service-buys:/svc`, 'key-1', 'key-2');
  await raw.sadd(`${P}customer-buys:alice`, 'key-1');
  await raw.hset(`${P}usage-writers`, 'writer-a', '12');
  await raw.hset(`${P}subscription:sub-1`, {
    apiKey: 'key-1',
    notificationUrl: 'http://buyer/notify',
    version: 'v2',
    secret: 's3cret',
    fiwareService: 'fs',
    fiwareServicePath: '/fsp',
  });
  await raw.sadd(`${P}buy-subscriptions:key-1`, 'sub-1');
  await raw.hset(`${P}specifications`, 'call', 'http://bae/spec/1');
  await raw.hset(
    `${P}marketplace-keys`,
    'mk',
    JSON.stringify({ seq: 1, receivedAt: '2026-01-01T00:00:00.000Z', state: 'accepted' }),
  );
  await raw.set(`${P}marketplace-key-seq`, '1');
}

test('a store written by the first key layout is moved into the tagged keys once, and served as it was', async () => {
  const prefix = 'first-layout:';
  const raw = new Redis({ host: '127.0.0.1', port: server.port });
  await writeFirstLayout(raw, prefix);
  const store = await openWithPrefix(prefix);
  try {
    assert.deepEqual(
      (await store.listServices()).map((s) => [s.publicPath, s.methods, s.isContextBroker]),
      [
        ['/other', ['GET'], true],
        ['/svc', ['GET', 'POST'], false],
      ],
    );
    assert.deepEqual(await store.listAdmins(), ['idle', 'root']);
    assert.deepEqual(await store.getAdmins('/svc'), ['root']);
    const state = await store.loadRoutingState();
    assert.deepEqual(
      state.buys.map((b) => b.apiKey),
      ['key-1'],
    );
    assert.deepEqual(state.bindings, [{ adminId: 'root', publicPath: '/svc' }]);
    assert.ok((await store.routingVersion()) > 7, 'proxies reload');
    assert.deepEqual(await store.getUsage('key-1'), {
      apiKey: 'key-1',
      pending: 3,
      reported: 0,
      correlationNumber: 4,
    });
    assert.equal(
      (
        await store.findBuy({
          orderId: 'o1',
          productId: 'prod',
          customer: 'alice',
          publicPath: '/svc',
        })
      )?.apiKey,
      'key-1',
    );
    const usage = await store.listUsage();
    assert.deepEqual(
      usage.map((b) => [b.apiKey, b.pending, b.revoked, b.outbox?.value, b.reportStatus?.state]),
      [
        ['key-1', 3, false, undefined, undefined],
        ['key-2', 0, true, 0.5, 'unknown'],
      ],
    );
    assert.equal((await store.listSubscriptions('key-1'))[0]?.secret, 's3cret');
    assert.equal(await store.getSpecificationHref('call'), 'http://bae/spec/1');
    assert.deepEqual(
      (await store.listMarketplaceKeys()).map((k) => [k.key, k.state]),
      [['mk', 'accepted']],
    );
    // The batch already applied by a writer is still recognised, a new one is added.
    await store.addUsage([{ apiKey: 'key-1', amount: 1 }], { writer: 'writer-a', seq: 12 });
    await store.addUsage([{ apiKey: 'key-1', amount: 1 }], { writer: 'writer-a', seq: 13 });
    assert.equal((await store.getUsage('key-1'))?.pending, 4);
    // The revoked buy goes once its record is accepted; a re-buy of its identity gets a new key.
    await store.completeRecord('key-2', 1);
    assert.deepEqual(
      (await store.listUsage()).map((b) => b.apiKey),
      ['key-1'],
    );
    const rebought = await store.addBuy({
      apiKey: 'key-3',
      publicPath: '/svc',
      orderId: 'o2',
      productId: 'prod',
      customer: 'bob',
      unit: 'call',
      recordType: 'callusage',
    });
    assert.equal(rebought.apiKey, 'key-3');
    // Nothing of the first layout is left, and a second start moves nothing.
    assert.deepEqual(await raw.keys(`${prefix}*`), []);
    const again = await openWithPrefix(prefix);
    assert.equal((await again.getUsage('key-1'))?.pending, 4);
    await again.close();
  } finally {
    await store.close();
    raw.disconnect();
  }
});

test('data of the layout before keeps its marketplace token as its only key', async () => {
  const prefix = 'legacy:';
  const raw = new Redis({ host: '127.0.0.1', port: server.port });
  await raw.set(`${prefix}marketplace-token`, 'legacy-token');
  const store = await openWithPrefix(prefix);
  try {
    assert.deepEqual(
      (await store.listMarketplaceKeys()).map((k) => [k.key, k.state]),
      [['legacy-token', 'untried']],
    );
    assert.equal(await raw.exists(`${prefix}marketplace-token`), 0);
    await store.addMarketplaceKey('new-key', new Date());
    const again = await openWithPrefix(prefix);
    assert.deepEqual(
      (await again.listMarketplaceKeys()).map((k) => k.key),
      ['new-key', 'legacy-token'],
      'the migration runs once',
    );
    await again.close();
  } finally {
    await store.close();
    raw.disconnect();
  }
});
