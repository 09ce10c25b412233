import { Redis } from 'ioredis';
import { type Clock, systemClock } from '../clock.ts';
import { type ErrorCode, proxyError } from '../errors.ts';
import { type ScriptName, scripts } from './redis-scripts.ts';
import {
  type Buy,
  type BuyIdentity,
  MARKETPLACE_KEYS_KEPT,
  type MarketplaceKey,
  type ReportableBuy,
  type RoutingState,
  type Service,
  type Store,
  type Subscription,
} from './store.ts';
import { assertValidAmount } from './usage-amount.ts';

export interface RedisStoreOptions {
  host: string;
  port: number;
  db: number;
  prefix: string;
  /** Give up at once when Redis is unreachable (the CLI) instead of reconnecting forever (the proxy). */
  failFast?: boolean;
  /** For the dates the store writes itself (default: the system clock). */
  clock?: Clock;
}

const toReportable = (
  apiKey: string,
  hash: Record<string, string>,
): ReportableBuy & { seq: number } => ({
  ...toBuy(apiKey, hash),
  pending: Number(hash.pending ?? 0),
  correlationNumber: Number(hash.correlationNumber ?? 0),
  outbox:
    hash.outboxValue === undefined
      ? undefined
      : {
          correlationNumber: Number(hash.correlationNumber ?? 0),
          value: Number(hash.outboxValue),
          date: hash.outboxDate ?? '',
        },
  revoked: hash.revoked === '1',
  reportStatus: hash.reportStatus === undefined ? undefined : JSON.parse(hash.reportStatus),
  seq: Number(hash.seq ?? 0),
});

interface MarketplaceKeyEntry {
  seq: number;
  receivedAt: string;
  state: MarketplaceKey['state'];
  checkedAt?: string;
}

// JSON keeps the four fields apart: no concatenation of ids can collide with another.
const identityKey = ({ orderId, productId, customer, publicPath }: BuyIdentity) =>
  JSON.stringify([orderId, productId, customer, publicPath]);

/** Same order as SQLite's default (binary) collation for the identifiers we store. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type ScriptReply = 'OK' | [ErrorCode, ...(string | number)[]];
type ScriptCommand = (...args: unknown[]) => Promise<ScriptReply>;

function throwIfError(reply: ScriptReply): void {
  if (reply === 'OK') return;
  const [code, ...args] = reply;
  // The scripts only return codes of the error table, with that entry's arguments.
  throw (proxyError as (code: ErrorCode, ...args: unknown[]) => Error)(code, ...args);
}

const toBuy = (apiKey: string, hash: Record<string, string>): Buy => ({
  apiKey,
  publicPath: hash.publicPath ?? '',
  orderId: hash.orderId ?? '',
  productId: hash.productId ?? '',
  customer: hash.customer ?? '',
  unit: hash.unit ?? '',
  recordType: hash.recordType ?? '',
});

const toService = (publicPath: string, hash: Record<string, string | null>): Service => ({
  publicPath,
  url: hash.url ?? '',
  appId: hash.appId ?? '',
  methods: (hash.methods ?? '').split(','),
  isContextBroker: hash.isContextBroker === '1',
});

const toSubscription = (
  subscriptionId: string,
  hash: Record<string, string>,
): Subscription | undefined =>
  hash.apiKey === undefined
    ? undefined
    : {
        subscriptionId,
        apiKey: hash.apiKey,
        notificationUrl: hash.notificationUrl ?? '',
        version: hash.version === 'v1' ? 'v1' : 'v2',
        secret: hash.secret ?? '',
        fiwareService: hash.fiwareService ?? '',
        fiwareServicePath: hash.fiwareServicePath ?? '',
      };

export async function openRedisStore(options: RedisStoreOptions): Promise<Store> {
  const redis = new Redis({
    host: options.host,
    port: options.port,
    db: options.db,
    lazyConnect: true,
    ...(options.failFast
      ? { retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 }
      : {
          retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
          // Fail commands at once while disconnected: the proxy then refuses unbillable requests
          // and its own retries (with batch ids) decide what is sent again, never ioredis.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
        }),
  });
  // Without a listener ioredis would report connection errors as unhandled; callers see them as
  // rejected commands instead.
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw proxyError(
      'STORE_CONNECTION_FAILED',
      `Redis at ${options.host}:${options.port}`,
      (lastError ?? (error as Error)).message,
    );
  }
  for (const [name, lua] of Object.entries(scripts)) {
    redis.defineCommand(`ap_${name}`, { numberOfKeys: 0, lua });
  }

  const p = options.prefix;
  const key = (...parts: string[]) => p + parts.join(':');
  const run = async (name: ScriptName, ...args: (string | number)[]): Promise<ScriptReply> => {
    // defineCommand above added one method per script name.
    const command = (redis as unknown as Record<string, ScriptCommand>)[
      `ap_${name}`
    ] as ScriptCommand;
    return command.call(redis, p, ...args);
  };
  const change = async (name: ScriptName, ...args: (string | number)[]) =>
    throwIfError(await run(name, ...args));
  await change(
    'migrateMarketplaceToken',
    new Date((options.clock ?? systemClock).now()).toISOString(),
  );

  const readBuys = async (apiKeys: string[]): Promise<Buy[]> => {
    const pipeline = redis.pipeline();
    for (const apiKey of apiKeys) pipeline.hgetall(key('buy', apiKey));
    const replies = (await pipeline.exec()) ?? [];
    return apiKeys.flatMap((apiKey, i) => {
      const hash = replies[i]?.[1] as Record<string, string> | undefined;
      return hash?.publicPath === undefined || hash.revoked === '1' ? [] : [toBuy(apiKey, hash)];
    });
  };

  return {
    kind: 'redis',

    addService: (s, options) =>
      change(
        'addService',
        s.publicPath,
        options?.replace ? '1' : '0',
        s.url,
        s.appId,
        s.methods.join(','),
        s.isContextBroker ? '1' : '0',
      ),
    getService: async (publicPath) => {
      const hash = await redis.hgetall(key('service', publicPath));
      return hash.url === undefined ? undefined : toService(publicPath, hash);
    },
    listServices: async () => {
      const paths = (await redis.smembers(key('services'))).sort();
      const pipeline = redis.pipeline();
      for (const path of paths) pipeline.hgetall(key('service', path));
      const replies = (await pipeline.exec()) ?? [];
      return paths.flatMap((path, i) => {
        const hash = replies[i]?.[1] as Record<string, string> | undefined;
        return hash?.url === undefined ? [] : [toService(path, hash)];
      });
    },
    deleteService: (publicPath) => change('deleteService', publicPath),

    addAdmin: (userId) => change('addAdmin', userId),
    deleteAdmin: (userId) => change('deleteAdmin', userId),
    listAdmins: async () => (await redis.smembers(key('admins'))).sort(),
    bindAdmin: (userId, publicPath) => change('bindAdmin', userId, publicPath),
    unbindAdmin: (userId, publicPath) => change('unbindAdmin', userId, publicPath),
    getAdmins: async (publicPath) =>
      (await redis.smembers(key('service-admins', publicPath))).sort(),

    addBuy: async (b) => {
      const reply = await run(
        'addBuy',
        b.apiKey,
        b.publicPath,
        b.orderId,
        b.productId,
        b.customer,
        b.unit,
        b.recordType,
        identityKey(b),
      );
      if (typeof reply !== 'string') throwIfError(reply);
      const [buy] = await readBuys([reply as string]);
      if (!buy) throw new Error(`buy ${reply} vanished while being stored`);
      return buy;
    },
    getBuy: async (apiKey) => (await readBuys([apiKey]))[0],
    findBuy: async (identity) => {
      const apiKey = await redis.get(key('buy-identity', identityKey(identity)));
      return apiKey === null ? undefined : (await readBuys([apiKey]))[0];
    },
    listBuys: async (filter) => {
      const all = await readBuys(await redis.zrange(key('buys'), 0, -1));
      return all.filter(
        (b) =>
          (filter?.customer === undefined || b.customer === filter.customer) &&
          (filter?.publicPath === undefined || b.publicPath === filter.publicPath),
      );
    },
    revokeBuy: (apiKey) => change('revokeBuy', apiKey),

    listUsage: async () => {
      const apiKeys = [
        ...(await redis.zrange(key('buys'), 0, -1)),
        ...(await redis.smembers(key('revoked-buys'))),
      ];
      const pipeline = redis.pipeline();
      for (const apiKey of apiKeys) pipeline.hgetall(key('buy', apiKey));
      const replies = (await pipeline.exec()) ?? [];
      return apiKeys
        .flatMap((apiKey, i) => {
          const hash = replies[i]?.[1] as Record<string, string> | undefined;
          return hash?.publicPath === undefined ? [] : [toReportable(apiKey, hash)];
        })
        .sort((a, b) => a.seq - b.seq)
        .map(({ seq: _seq, ...buy }) => buy);
    },
    prepareRecord: async (apiKey, now) => {
      const reply = (await run('prepareRecord', apiKey, now.toISOString())) as unknown as
        | string[]
        | null;
      if (!reply) return undefined;
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < reply.length; i += 2)
        hash[reply[i] as string] = reply[i + 1] as string;
      const { seq: _seq, ...buy } = toReportable(apiKey, hash);
      return buy.outbox ? { ...buy, outbox: buy.outbox } : undefined;
    },
    completeRecord: (apiKey, correlationNumber) =>
      change('completeRecord', apiKey, correlationNumber),
    setReportStatus: (apiKey, correlationNumber, status) =>
      change('setReportStatus', apiKey, correlationNumber, status ? JSON.stringify(status) : ''),
    acquireLock: async (name, owner, ttlMs) =>
      ((await run('acquireLock', name, owner, ttlMs)) as unknown as number) === 1,
    releaseLock: (name, owner) => change('releaseLock', name, owner),
    lockOwner: async (name) => (await redis.get(key('lock', name))) ?? undefined,

    addUsage: async (increments, batch) => {
      if (increments.length === 0) return;
      const args: (string | number)[] = [batch?.writer ?? '', batch?.seq ?? 0];
      for (const { apiKey, amount } of increments) {
        assertValidAmount(amount);
        args.push(apiKey, amount);
      }
      throwIfError(await run('addUsage', ...args));
    },
    getUsage: async (apiKey) => {
      const [pending, correlationNumber] = await redis.hmget(
        key('buy', apiKey),
        'pending',
        'correlationNumber',
      );
      if (pending === null || pending === undefined) return undefined;
      return { apiKey, pending: Number(pending), correlationNumber: Number(correlationNumber) };
    },

    setSpecificationHref: async (unit, href) => {
      await redis.hset(key('specifications'), unit, href);
    },
    getSpecificationHref: async (unit) =>
      (await redis.hget(key('specifications'), unit)) ?? undefined,
    addMarketplaceKey: (marketplaceKey, receivedAt) =>
      change('addMarketplaceKey', marketplaceKey, receivedAt.toISOString(), MARKETPLACE_KEYS_KEPT),
    listMarketplaceKeys: async () => {
      const entries = await redis.hgetall(key('marketplace-keys'));
      return Object.entries(entries)
        .map(([k, json]) => ({ key: k, ...(JSON.parse(json) as MarketplaceKeyEntry) }))
        .sort((a, b) => b.seq - a.seq)
        .map(({ seq: _seq, ...entry }) => entry);
    },
    setMarketplaceKeyState: (marketplaceKey, state, checkedAt) =>
      change('setMarketplaceKeyState', marketplaceKey, state, checkedAt.toISOString()),

    addSubscription: (s) =>
      change(
        'addSubscription',
        s.subscriptionId,
        s.apiKey,
        s.notificationUrl,
        s.version,
        s.secret,
        s.fiwareService,
        s.fiwareServicePath,
      ),
    getSubscription: async (id) => toSubscription(id, await redis.hgetall(key('subscription', id))),
    listSubscriptions: async (apiKey) => {
      const ids = (await redis.smembers(key('buy-subscriptions', apiKey))).sort();
      const found = await Promise.all(
        ids.map(async (id) => toSubscription(id, await redis.hgetall(key('subscription', id)))),
      );
      return found.filter((s): s is Subscription => s !== undefined);
    },
    updateSubscriptionUrl: (id, url) => change('updateSubscriptionUrl', id, url),
    deleteSubscription: (id) => change('deleteSubscription', id),

    loadRoutingState: async (): Promise<RoutingState> => {
      const [services, bindings, buys] = (await run('routingState')) as unknown as [
        string[][],
        string[][],
        string[][],
      ];
      const field = (row: string[], i: number) => row[i] ?? '';
      return {
        services: services
          .map((r) =>
            toService(field(r, 0), {
              url: field(r, 1),
              appId: field(r, 2),
              methods: field(r, 3),
              isContextBroker: field(r, 4),
            }),
          )
          .sort((a, b) => compare(a.publicPath, b.publicPath)),
        bindings: bindings
          .map((r) => ({ adminId: field(r, 0), publicPath: field(r, 1) }))
          .sort((a, b) => compare(a.adminId, b.adminId) || compare(a.publicPath, b.publicPath)),
        buys: buys.map((r) =>
          toBuy(field(r, 0), {
            publicPath: field(r, 1),
            orderId: field(r, 2),
            productId: field(r, 3),
            customer: field(r, 4),
            unit: field(r, 5),
            recordType: field(r, 6),
          }),
        ),
      };
    },
    routingVersion: async () => Number((await redis.get(key('routing-version'))) ?? 0),

    isAvailable: () => redis.status === 'ready',
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
