import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../clock.ts';
import { proxyError } from '../errors.ts';
import { type CheckpointerOptions, startCheckpointer } from './sqlite-checkpointer.ts';
import { migrate } from './sqlite-schema.ts';
import {
  type Buy,
  type BuyIdentity,
  type BuyUsage,
  MARKETPLACE_KEYS_KEPT,
  type MarketplaceKey,
  type ReportableBuy,
  type RoutingState,
  type Service,
  type Store,
  type Subscription,
  type UsageBatch,
  type UsageIncrement,
} from './store.ts';
import { assertValidAmount } from './usage-amount.ts';

interface ServiceRow {
  public_path: string;
  url: string;
  app_id: string;
  methods: string;
  is_context_broker: number;
}
interface BuyRow {
  api_key: string;
  public_path: string;
  order_id: string;
  product_id: string;
  customer: string;
  unit: string;
  record_type: string;
}
interface SubscriptionRow {
  subscription_id: string;
  api_key: string;
  notification_url: string;
  version: 'v1' | 'v2';
  secret: string;
  fiware_service: string;
  fiware_service_path: string;
}

const toService = (row: ServiceRow): Service => ({
  publicPath: row.public_path,
  url: row.url,
  appId: row.app_id,
  methods: row.methods.split(','),
  isContextBroker: row.is_context_broker === 1,
});
const toBuy = (row: BuyRow): Buy => ({
  apiKey: row.api_key,
  publicPath: row.public_path,
  orderId: row.order_id,
  productId: row.product_id,
  customer: row.customer,
  unit: row.unit,
  recordType: row.record_type,
});
const toSubscription = (row: SubscriptionRow): Subscription => ({
  subscriptionId: row.subscription_id,
  apiKey: row.api_key,
  notificationUrl: row.notification_url,
  version: row.version,
  secret: row.secret,
  fiwareService: row.fiware_service,
  fiwareServicePath: row.fiware_service_path,
});

interface UsageRow extends BuyRow {
  pending: number;
  correlation_number: number;
  outbox_value: number | null;
  outbox_date: string | null;
  last_record_date: string | null;
  revoked: number;
  report_status: string | null;
}

const toReportable = (row: UsageRow): ReportableBuy => ({
  ...toBuy(row),
  pending: row.pending,
  correlationNumber: row.correlation_number,
  outbox:
    row.outbox_value === null
      ? undefined
      : {
          correlationNumber: row.correlation_number,
          value: row.outbox_value,
          date: row.outbox_date ?? '',
        },
  revoked: row.revoked === 1,
  reportStatus: row.report_status === null ? undefined : JSON.parse(row.report_status),
});

interface MarketplaceKeyRow {
  key: string;
  received_at: string;
  state: MarketplaceKey['state'];
  checked_at: string | null;
}

const toMarketplaceKey = (row: MarketplaceKeyRow): MarketplaceKey => ({
  key: row.key,
  receivedAt: row.received_at,
  state: row.state,
  ...(row.checked_at === null ? {} : { checkedAt: row.checked_at }),
});

const withOutbox = (row: UsageRow) => {
  const buy = toReportable(row);
  return buy.outbox ? { ...buy, outbox: buy.outbox } : undefined;
};

const laterDate = (now: string, previous: string | null) =>
  previous !== null && previous > now ? previous : now;

const identityOf = ({ orderId, productId, customer, publicPath }: BuyIdentity): BuyIdentity => ({
  orderId,
  productId,
  customer,
  publicPath,
});

const BUY_COLUMNS = 'api_key, public_path, order_id, product_id, customer, unit, record_type';

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. */
  filename: string;
  /**
   * How long a write waits for another process's lock before failing (default 250 ms). SQLite
   * waits synchronously, stalling the event loop, so the wait is short and callers retry instead
   * (the usage recorder with backoff).
   */
  busyTimeoutMs?: number;
  /** Checkpoint the WAL in a worker thread rather than inside commits (the long-running proxy). */
  backgroundCheckpoints?: CheckpointerOptions;
  /** For lock expiry (default: the system clock). */
  clock?: Clock;
}

function openDatabase(filename: string): Database.Database {
  try {
    return new Database(filename);
  } catch (error) {
    throw proxyError(
      'STORE_CONNECTION_FAILED',
      `SQLite file "${filename}"`,
      (error as Error).message,
    );
  }
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options.filename);
  const clock = options.clock ?? systemClock;
  db.pragma('journal_mode = WAL');
  // WAL with synchronous=NORMAL survives a process crash; FULL would also survive power loss at
  // the price of an fsync per commit. A crash of the proxy is the case we must not lose usage in.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 250}`);
  migrate(db);
  const checkpointer =
    options.backgroundCheckpoints && !db.memory
      ? startCheckpointer(db, options.backgroundCheckpoints)
      : undefined;

  const sql = {
    bumpVersion: db.prepare('UPDATE routing_version SET version = version + 1 WHERE id = 1'),
    version: db.prepare('SELECT version FROM routing_version WHERE id = 1').pluck(),
    serviceExists: db.prepare('SELECT 1 FROM services WHERE public_path = ?').pluck(),
    insertService: db.prepare(
      'INSERT INTO services (public_path, url, app_id, methods, is_context_broker) VALUES (?, ?, ?, ?, ?)',
    ),
    updateService: db.prepare(
      'UPDATE services SET url = ?, app_id = ?, methods = ?, is_context_broker = ? WHERE public_path = ?',
    ),
    getService: db.prepare<[string], ServiceRow>('SELECT * FROM services WHERE public_path = ?'),
    listServices: db.prepare<[], ServiceRow>('SELECT * FROM services ORDER BY public_path'),
    deleteService: db.prepare('DELETE FROM services WHERE public_path = ?'),
    countServiceBuys: db.prepare('SELECT count(*) FROM buys WHERE public_path = ?').pluck(),
    adminExists: db.prepare('SELECT 1 FROM admins WHERE id = ?').pluck(),
    insertAdmin: db.prepare('INSERT INTO admins (id) VALUES (?)'),
    deleteAdmin: db.prepare('DELETE FROM admins WHERE id = ?'),
    listAdmins: db.prepare('SELECT id FROM admins ORDER BY id').pluck(),
    bind: db.prepare('INSERT OR IGNORE INTO admin_bindings (admin_id, public_path) VALUES (?, ?)'),
    unbind: db.prepare('DELETE FROM admin_bindings WHERE admin_id = ? AND public_path = ?'),
    serviceAdmins: db
      .prepare('SELECT admin_id FROM admin_bindings WHERE public_path = ? ORDER BY admin_id')
      .pluck(),
    allBindings: db.prepare<[], { adminId: string; publicPath: string }>(
      'SELECT admin_id AS adminId, public_path AS publicPath FROM admin_bindings ORDER BY admin_id, public_path',
    ),
    insertBuy: db.prepare(
      `INSERT INTO buys (${BUY_COLUMNS}, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM buys))`,
    ),
    findBuy: db.prepare<
      [BuyIdentity],
      BuyRow & { pending: number; revoked: number; outbox_value: number | null }
    >(
      `SELECT ${BUY_COLUMNS}, pending, revoked, outbox_value FROM buys WHERE order_id = @orderId
       AND product_id = @productId AND customer = @customer AND public_path = @publicPath`,
    ),
    setBuyUnit: db.prepare(
      'UPDATE buys SET unit = ?, record_type = ?, revoked = 0 WHERE api_key = ?',
    ),
    getBuy: db.prepare<[string], BuyRow>(
      `SELECT ${BUY_COLUMNS} FROM buys WHERE api_key = ? AND revoked = 0`,
    ),
    listBuys: db.prepare<[{ customer: string | null; publicPath: string | null }], BuyRow>(
      `SELECT ${BUY_COLUMNS} FROM buys WHERE revoked = 0 AND (@customer IS NULL OR customer = @customer)
       AND (@publicPath IS NULL OR public_path = @publicPath) ORDER BY seq`,
    ),
    activeBuyState: db.prepare<[string], { pending: number; outbox_value: number | null }>(
      'SELECT pending, outbox_value FROM buys WHERE api_key = ? AND revoked = 0',
    ),
    usageRows: db.prepare<[], UsageRow>(`SELECT * FROM buys ORDER BY seq`),
    usageRow: db.prepare<[string], UsageRow>(`SELECT * FROM buys WHERE api_key = ?`),
    fillOutbox: db.prepare(
      'UPDATE buys SET outbox_value = ?, outbox_date = ?, pending = pending - ? WHERE api_key = ?',
    ),
    completeRecord: db.prepare(
      `UPDATE buys SET outbox_value = NULL, outbox_date = NULL, last_record_date = outbox_date,
       correlation_number = correlation_number + 1, report_status = NULL
       WHERE api_key = ? AND outbox_value IS NOT NULL AND correlation_number = ?`,
    ),
    setReportStatus: db.prepare(
      `UPDATE buys SET report_status = ?
       WHERE api_key = ? AND outbox_value IS NOT NULL AND correlation_number = ?`,
    ),
    deleteSpentRevoked: db.prepare(
      'DELETE FROM buys WHERE api_key = ? AND revoked = 1 AND pending = 0 AND outbox_value IS NULL',
    ),
    takeLock: db.prepare(
      `INSERT INTO locks (name, owner, expires_at) VALUES (@name, @owner, @expires)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE locks.owner = excluded.owner OR locks.expires_at < @now`,
    ),
    releaseLock: db.prepare('DELETE FROM locks WHERE name = ? AND owner = ?'),
    lockOwner: db.prepare('SELECT owner FROM locks WHERE name = ? AND expires_at >= ?').pluck(),
    revokeBuy: db.prepare('UPDATE buys SET revoked = 1 WHERE api_key = ?'),
    deleteBuy: db.prepare('DELETE FROM buys WHERE api_key = ?'),
    deleteBuySubscriptions: db.prepare('DELETE FROM subscriptions WHERE api_key = ?'),
    addUsage: db.prepare('UPDATE buys SET pending = pending + ? WHERE api_key = ?'),
    lastBatch: db.prepare('SELECT last_batch FROM usage_writers WHERE writer = ?').pluck(),
    setLastBatch: db.prepare(
      'INSERT INTO usage_writers (writer, last_batch) VALUES (?, ?) ON CONFLICT (writer) DO UPDATE SET last_batch = excluded.last_batch',
    ),
    getUsage: db.prepare<[string], BuyUsage>(
      'SELECT api_key AS apiKey, pending, correlation_number AS correlationNumber FROM buys WHERE api_key = ?',
    ),
    setHref: db.prepare(
      'INSERT INTO specifications (unit, href) VALUES (?, ?) ON CONFLICT (unit) DO UPDATE SET href = excluded.href',
    ),
    getHref: db.prepare('SELECT href FROM specifications WHERE unit = ?').pluck(),
    addMarketplaceKey: db.prepare(
      `INSERT INTO marketplace_keys (key, received_at, state, seq)
       VALUES (?, ?, 'untried', (SELECT coalesce(max(seq), 0) + 1 FROM marketplace_keys))
       ON CONFLICT (key) DO UPDATE SET received_at = excluded.received_at, seq = excluded.seq`,
    ),
    trimMarketplaceKeys: db.prepare(
      `DELETE FROM marketplace_keys WHERE key NOT IN
       (SELECT key FROM marketplace_keys ORDER BY seq DESC LIMIT ${MARKETPLACE_KEYS_KEPT})`,
    ),
    listMarketplaceKeys: db.prepare<[], MarketplaceKeyRow>(
      'SELECT key, received_at, state, checked_at FROM marketplace_keys ORDER BY seq DESC',
    ),
    setMarketplaceKeyState: db.prepare(
      'UPDATE marketplace_keys SET state = ?, checked_at = ? WHERE key = ?',
    ),
    insertSubscription: db.prepare(
      `INSERT OR REPLACE INTO subscriptions (subscription_id, api_key, notification_url, version,
       secret, fiware_service, fiware_service_path) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    getSubscription: db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE subscription_id = ?',
    ),
    listSubscriptions: db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE api_key = ? ORDER BY subscription_id',
    ),
    updateSubscriptionUrl: db.prepare(
      'UPDATE subscriptions SET notification_url = ? WHERE subscription_id = ?',
    ),
    deleteSubscription: db.prepare('DELETE FROM subscriptions WHERE subscription_id = ?'),
  };

  /** Runs a routing change in one write transaction and tells other processes it happened. */
  const routingChange = <A extends unknown[], R>(body: (...args: A) => R) => {
    const run = db.transaction((...args: A): R => {
      const result = body(...args);
      sql.bumpVersion.run();
      return result;
    });
    return async (...args: A): Promise<R> => run.immediate(...args);
  };

  const requireService = (publicPath: string) => {
    if (!sql.serviceExists.get(publicPath)) throw proxyError('SERVICE_NOT_FOUND', publicPath);
  };
  const requireAdmin = (userId: string) => {
    if (!sql.adminExists.get(userId)) throw proxyError('ADMIN_NOT_FOUND', userId);
  };

  const addUsageBatch = db.transaction(
    (increments: readonly UsageIncrement[], batch: UsageBatch | undefined) => {
      if (batch) {
        const last = (sql.lastBatch.get(batch.writer) as number | undefined) ?? 0;
        if (batch.seq <= last) return;
        sql.setLastBatch.run(batch.writer, batch.seq);
      }
      for (const { apiKey, amount } of increments) sql.addUsage.run(amount, apiKey);
    },
  );

  const prepareRecord = db.transaction((apiKey: string, now: Date) => {
    const row = sql.usageRow.get(apiKey);
    if (!row) return undefined;
    if (row.outbox_value === null) {
      if (row.pending <= 0) return undefined;
      // Dates of one buy's records never go back, even if this host's clock does.
      const date = laterDate(now.toISOString(), row.last_record_date);
      sql.fillOutbox.run(row.pending, date, row.pending, apiKey);
      return withOutbox({ ...row, outbox_value: row.pending, outbox_date: date, pending: 0 });
    }
    return withOutbox(row);
  });

  const completeRecord = db.transaction((apiKey: string, correlationNumber: number) => {
    if (sql.completeRecord.run(apiKey, correlationNumber).changes === 1) {
      sql.deleteSpentRevoked.run(apiKey);
    }
  });

  const addMarketplaceKey = db.transaction((key: string, receivedAt: string) => {
    sql.addMarketplaceKey.run(key, receivedAt);
    sql.trimMarketplaceKeys.run();
  });

  const readRoutingState = db.transaction(
    (): RoutingState => ({
      services: sql.listServices.all().map(toService),
      bindings: sql.allBindings.all(),
      buys: sql.listBuys.all({ customer: null, publicPath: null }).map(toBuy),
    }),
  );

  return {
    kind: 'sqlite',

    addService: routingChange((service: Service, options?: { replace?: boolean }) => {
      const row = [service.url, service.appId, service.methods.join(','), +service.isContextBroker];
      if (!sql.serviceExists.get(service.publicPath)) {
        sql.insertService.run(service.publicPath, ...row);
      } else if (options?.replace) {
        sql.updateService.run(...row, service.publicPath);
      } else {
        throw proxyError('SERVICE_EXISTS', service.publicPath);
      }
    }),
    getService: async (publicPath) => {
      const row = sql.getService.get(publicPath);
      return row && toService(row);
    },
    listServices: async () => sql.listServices.all().map(toService),
    deleteService: routingChange((publicPath: string) => {
      requireService(publicPath);
      const buys = sql.countServiceBuys.get(publicPath) as number;
      if (buys > 0) throw proxyError('SERVICE_HAS_BUYS', publicPath, buys);
      sql.deleteService.run(publicPath);
    }),

    addAdmin: routingChange((userId: string) => {
      if (sql.adminExists.get(userId)) throw proxyError('ADMIN_EXISTS', userId);
      sql.insertAdmin.run(userId);
    }),
    deleteAdmin: routingChange((userId: string) => {
      requireAdmin(userId);
      sql.deleteAdmin.run(userId);
    }),
    listAdmins: async () => sql.listAdmins.all() as string[],
    bindAdmin: routingChange((userId: string, publicPath: string) => {
      requireAdmin(userId);
      requireService(publicPath);
      sql.bind.run(userId, publicPath);
    }),
    unbindAdmin: routingChange((userId: string, publicPath: string) => {
      if (sql.unbind.run(userId, publicPath).changes === 0) {
        throw proxyError('ADMIN_NOT_BOUND', userId, publicPath);
      }
    }),
    getAdmins: async (publicPath) => sql.serviceAdmins.all(publicPath) as string[],

    addBuy: routingChange((candidate: Buy): Buy => {
      requireService(candidate.publicPath);
      const existing = sql.findBuy.get(identityOf(candidate));
      if (!existing) {
        sql.insertBuy.run(
          candidate.apiKey,
          candidate.publicPath,
          candidate.orderId,
          candidate.productId,
          candidate.customer,
          candidate.unit,
          candidate.recordType,
        );
        return candidate;
      }
      const unsent = existing.pending > 0 || existing.outbox_value !== null;
      if (existing.unit !== candidate.unit && unsent) {
        throw proxyError('BUY_UNIT_CHANGE', existing.unit, candidate.unit);
      }
      sql.setBuyUnit.run(candidate.unit, candidate.recordType, existing.api_key);
      return { ...toBuy(existing), unit: candidate.unit, recordType: candidate.recordType };
    }),
    findBuy: async (identity) => {
      const row = sql.findBuy.get(identityOf(identity));
      return row && row.revoked === 0 ? toBuy(row) : undefined;
    },
    getBuy: async (apiKey) => {
      const row = sql.getBuy.get(apiKey);
      return row && toBuy(row);
    },
    listBuys: async (filter) =>
      sql.listBuys
        .all({ customer: filter?.customer ?? null, publicPath: filter?.publicPath ?? null })
        .map(toBuy),
    revokeBuy: routingChange((apiKey: string) => {
      const state = sql.activeBuyState.get(apiKey);
      if (!state) throw proxyError('BUY_NOT_FOUND', apiKey);
      sql.deleteBuySubscriptions.run(apiKey);
      // Unreported usage keeps the buy (revoked) until the usage reporter has sent it.
      if (state.pending > 0 || state.outbox_value !== null) sql.revokeBuy.run(apiKey);
      else sql.deleteBuy.run(apiKey);
    }),

    listUsage: async () => sql.usageRows.all().map(toReportable),
    prepareRecord: async (apiKey, now) => prepareRecord.immediate(apiKey, now),
    completeRecord: async (apiKey, correlationNumber) =>
      completeRecord.immediate(apiKey, correlationNumber),
    setReportStatus: async (apiKey, correlationNumber, status) => {
      sql.setReportStatus.run(status ? JSON.stringify(status) : null, apiKey, correlationNumber);
    },

    acquireLock: async (name, owner, ttlMs) => {
      const now = clock.now();
      return sql.takeLock.run({ name, owner, expires: now + ttlMs, now }).changes === 1;
    },
    releaseLock: async (name, owner) => {
      sql.releaseLock.run(name, owner);
    },
    lockOwner: async (name) => sql.lockOwner.get(name, clock.now()) as string | undefined,

    addUsage: async (increments, batch) => {
      for (const { amount } of increments) assertValidAmount(amount);
      addUsageBatch.immediate(increments, batch);
    },
    getUsage: async (apiKey) => sql.getUsage.get(apiKey),

    setSpecificationHref: async (unit, href) => {
      sql.setHref.run(unit, href);
    },
    getSpecificationHref: async (unit) => sql.getHref.get(unit) as string | undefined,
    addMarketplaceKey: async (key, receivedAt) => {
      addMarketplaceKey.immediate(key, receivedAt.toISOString());
    },
    listMarketplaceKeys: async () => sql.listMarketplaceKeys.all().map(toMarketplaceKey),
    setMarketplaceKeyState: async (key, state, checkedAt) => {
      sql.setMarketplaceKeyState.run(state, checkedAt.toISOString(), key);
    },

    addSubscription: async (s) => {
      if (!sql.getBuy.get(s.apiKey)) throw proxyError('BUY_NOT_FOUND', s.apiKey);
      sql.insertSubscription.run(
        s.subscriptionId,
        s.apiKey,
        s.notificationUrl,
        s.version,
        s.secret,
        s.fiwareService,
        s.fiwareServicePath,
      );
    },
    getSubscription: async (id) => {
      const row = sql.getSubscription.get(id);
      return row && toSubscription(row);
    },
    listSubscriptions: async (apiKey) => sql.listSubscriptions.all(apiKey).map(toSubscription),
    updateSubscriptionUrl: async (id, url) => {
      if (sql.updateSubscriptionUrl.run(url, id).changes === 0) {
        throw proxyError('SUBSCRIPTION_NOT_FOUND');
      }
    },
    deleteSubscription: async (id) => {
      sql.deleteSubscription.run(id);
    },

    loadRoutingState: async () => readRoutingState.deferred(),
    routingVersion: async () => sql.version.get() as number,

    isAvailable: () => db.open,
    close: async () => {
      await checkpointer?.stop();
      db.close();
    },
  };
}
