import { proxyError } from '../../errors.ts';
import type { Limits } from '../../limits/limits.ts';
import type { Admission, AdmissionRequest, LimitStore, LimitsEntry } from '../limits.ts';
import type { SqliteDatabase } from './driver.ts';
import type { RoutingChange } from './routing-version.ts';

interface LimitsRow {
  public_path: string;
  api_key: string;
  limits: string;
}

interface CounterRow {
  rate_window: number | null;
  rate_count: number;
  quota_period: string | null;
  quota_spent: number;
}

/** Limits in the `limits` table, each buy's counters in `limit_counters`. */
export function sqliteLimits(db: SqliteDatabase, routingChange: RoutingChange): LimitStore {
  const readLimits = limitsReader(db);
  const sql = {
    serviceExists: db.prepareValue<[string], number>(
      'SELECT 1 FROM services WHERE public_path = ?',
    ),
    buyKeys: db.prepareValue<[string, string, string], string>(
      `SELECT api_key FROM buys WHERE public_path = ? AND order_id = ? AND product_id = ?
       AND revoked = 0`,
    ),
    set: db.prepare(
      `INSERT INTO limits (public_path, api_key, limits) VALUES (?, ?, ?)
       ON CONFLICT (public_path, api_key) DO UPDATE SET limits = excluded.limits`,
    ),
    clear: db.prepare('DELETE FROM limits WHERE public_path = ? AND api_key = ?'),
    counters: db.prepare<[string], CounterRow>(
      'SELECT rate_window, rate_count, quota_period, quota_spent FROM limit_counters WHERE api_key = ?',
    ),
    allCounters: db.prepare<[], CounterRow & { api_key: string }>(
      `SELECT api_key, rate_window, rate_count, quota_period, quota_spent FROM limit_counters
       ORDER BY api_key`,
    ),
    buyExists: db.prepareValue<[string], number>('SELECT 1 FROM buys WHERE api_key = ?'),
    saveCounters: db.prepare(
      `INSERT INTO limit_counters (api_key, rate_window, rate_count, quota_period, quota_spent)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (api_key) DO UPDATE SET rate_window = excluded.rate_window,
         rate_count = excluded.rate_count, quota_period = excluded.quota_period,
         quota_spent = excluded.quota_spent`,
    ),
  };

  const setLimits = routingChange(
    (
      publicPath: string,
      limits: Limits | undefined,
      buy: { orderId: string; productId: string } | undefined,
    ) => {
      if (!sql.serviceExists.get(publicPath)) throw proxyError('SERVICE_NOT_FOUND', publicPath);
      const keys = buy ? sql.buyKeys.all(publicPath, buy.orderId, buy.productId) : [''];
      if (keys.length === 0) {
        throw proxyError(
          'LIMITS_BUY_NOT_FOUND',
          publicPath,
          buy?.orderId ?? '',
          buy?.productId ?? '',
        );
      }
      for (const apiKey of keys) {
        if (limits && (limits.rate || limits.quota)) {
          sql.set.run(publicPath, apiKey, JSON.stringify(limits));
        } else sql.clear.run(publicPath, apiKey);
      }
    },
  );

  const admit = db.transaction((request: AdmissionRequest): Admission => {
    const row = sql.counters.get(request.apiKey);
    const { rate, quota } = request;
    const count = rate && row?.rate_window === rate.window ? row.rate_count : 0;
    const spent = quota && row?.quota_period === quota.period ? row.quota_spent : 0;
    const counted = { ...(rate && { rateCount: count }), ...(quota && { quotaSpent: spent }) };
    if (rate && count >= rate.limit) return { admitted: false, refusedBy: 'rate', ...counted };
    if (quota && (spent >= quota.amount || spent + quota.reserve > quota.amount)) {
      return { admitted: false, refusedBy: 'quota', ...counted };
    }
    if (!sql.buyExists.get(request.apiKey)) return { admitted: false };
    sql.saveCounters.run(
      request.apiKey,
      rate ? rate.window : (row?.rate_window ?? null),
      rate ? count + 1 : (row?.rate_count ?? 0),
      quota ? quota.period : (row?.quota_period ?? null),
      quota ? spent + quota.reserve : (row?.quota_spent ?? 0),
    );
    return {
      admitted: true,
      ...(rate && { rateCount: count + 1 }),
      ...(quota && { quotaSpent: spent + quota.reserve }),
    };
  });

  const release = db.prepare(
    `UPDATE limit_counters SET quota_spent = max(0, quota_spent - ?)
     WHERE api_key = ? AND quota_period = ?`,
  );

  return {
    setLimits: (publicPath, limits, buy) => setLimits(publicPath, limits, buy),
    listLimits: async () => readLimits(),
    admit: async (request) => admit.immediate(request),
    listLimitCounters: async () =>
      sql.allCounters.all().map((row) => ({
        apiKey: row.api_key,
        ...(row.rate_window === null ? {} : { rateWindow: row.rate_window }),
        rateCount: row.rate_count,
        ...(row.quota_period === null ? {} : { quotaPeriod: row.quota_period }),
        quotaSpent: row.quota_spent,
      })),
    releaseReservation: async (apiKey, period, amount) => {
      release.run(amount, apiKey, period);
    },
  };
}

/** The limits in force: of services, and of buys not revoked; service-wide first. */
export function limitsReader(db: SqliteDatabase): () => LimitsEntry[] {
  const list = db.prepare<[], LimitsRow>(
    `SELECT public_path, api_key, limits FROM limits
     WHERE api_key = '' OR api_key IN (SELECT api_key FROM buys WHERE revoked = 0)
     ORDER BY api_key <> '', public_path, api_key`,
  );
  return () =>
    list.all().map(
      (row): LimitsEntry => ({
        publicPath: row.public_path,
        ...(row.api_key === '' ? {} : { apiKey: row.api_key }),
        limits: JSON.parse(row.limits) as Limits,
      }),
    );
}

/**
 * Spends metered amounts of buys with a quota, in the usage batch's transaction: in the period the
 * increment names, a later period starting from zero, an earlier one's amount dropped.
 */
export function sqliteQuotaSpending(db: SqliteDatabase) {
  const spend = db.prepare(
    `INSERT INTO limit_counters (api_key, quota_period, quota_spent)
     SELECT @apiKey, @period, @amount WHERE EXISTS (SELECT 1 FROM buys WHERE api_key = @apiKey)
     ON CONFLICT (api_key) DO UPDATE SET
       quota_spent = CASE WHEN quota_period = @period THEN quota_spent + @amount
         WHEN quota_period IS NULL OR quota_period < @period THEN @amount ELSE quota_spent END,
       quota_period = CASE WHEN quota_period IS NULL OR quota_period < @period THEN @period
         ELSE quota_period END`,
  );
  return (apiKey: string, period: string, amount: number) => {
    spend.run({ apiKey, period, amount });
  };
}
