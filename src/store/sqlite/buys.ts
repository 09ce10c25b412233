import { proxyError } from '../../errors.ts';
import type { Buy, BuyIdentity, BuyStore, BuyUsage, UsageBatch, UsageIncrement } from '../store.ts';
import { assertValidAmount } from '../usage-amount.ts';
import type { SqliteDatabase } from './driver.ts';
import { sqliteQuotaSpending } from './limits.ts';
import type { RoutingChange } from './routing-version.ts';
import { BUY_COLUMNS, type BuyRow, toBuy } from './rows.ts';

const identityOf = ({ orderId, productId, customer, publicPath }: BuyIdentity): BuyIdentity => ({
  orderId,
  productId,
  customer,
  publicPath,
});

/** Buys and their metered usage in SQLite. */
export function sqliteBuys(db: SqliteDatabase, routingChange: RoutingChange): BuyStore {
  const spendQuota = sqliteQuotaSpending(db);
  const sql = {
    serviceExists: db.prepareValue('SELECT 1 FROM services WHERE public_path = ?'),
    insertBuy: db.prepare(
      `INSERT INTO buys (${BUY_COLUMNS}, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM buys))`,
    ),
    findBuy: db.prepare<
      [BuyIdentity],
      BuyRow & { pending: number; revoked: number; outbox_value: number | null }
    >(
      `SELECT ${BUY_COLUMNS}, pending, revoked, outbox_value FROM buys WHERE order_id = @orderId
       AND product_id = @productId AND customer = @customer AND public_path = @publicPath`,
    ),
    setBuyUnit: db.prepare(
      'UPDATE buys SET unit = ?, record_type = ?, revoked = 0, terms = coalesce(?, terms) WHERE api_key = ?',
    ),
    // A buy bought before its service became an adapter service gets credentials; never new ones.
    setAccess: db.prepare(
      'UPDATE buys SET client_key = ?, client_password = ? WHERE api_key = ? AND client_key IS NULL',
    ),
    getBuy: db.prepare<[string], BuyRow>(
      `SELECT ${BUY_COLUMNS} FROM buys WHERE api_key = ? AND revoked = 0`,
    ),
    listBuys: db.prepare<[{ customer: string | null; publicPath: string | null }], BuyRow>(
      `SELECT ${BUY_COLUMNS} FROM buys WHERE revoked = 0 AND (@customer IS NULL OR customer = @customer)
       AND (@publicPath IS NULL OR public_path = @publicPath) ORDER BY seq`,
    ),
    activeBuyState: db.prepare<
      [string],
      { pending: number; outbox_value: number | null; session_open: number }
    >('SELECT pending, outbox_value, session_open FROM buys WHERE api_key = ? AND revoked = 0'),
    revokeBuy: db.prepare('UPDATE buys SET revoked = 1 WHERE api_key = ?'),
    deleteBuy: db.prepare('DELETE FROM buys WHERE api_key = ?'),
    deleteBuySubscriptions: db.prepare('DELETE FROM subscriptions WHERE api_key = ?'),
    addUsage: db.prepare('UPDATE buys SET pending = pending + ? WHERE api_key = ?'),
    addWindowUsage: db.prepare(
      `INSERT INTO usage_windows (api_key, window_start, amount, last_at)
       SELECT @apiKey, w.start, @amount, max(@at, w.start) FROM (
         SELECT CASE WHEN last_window IS NOT NULL AND @start <= last_window
           THEN last_window + @length ELSE @start END AS start
         FROM buys WHERE api_key = @apiKey AND terms IS NOT NULL) AS w
       WHERE true
       ON CONFLICT (api_key, window_start)
       DO UPDATE SET amount = amount + excluded.amount, last_at = max(last_at, excluded.last_at)`,
    ),
    lastBatch: db.prepareValue('SELECT last_batch FROM usage_writers WHERE writer = ?'),
    setLastBatch: db.prepare(
      'INSERT INTO usage_writers (writer, last_batch) VALUES (?, ?) ON CONFLICT (writer) DO UPDATE SET last_batch = excluded.last_batch',
    ),
    getUsage: db.prepare<[string], BuyUsage>(
      `SELECT api_key AS apiKey, pending, reported, correlation_number AS correlationNumber
       FROM buys WHERE api_key = ?`,
    ),
  };

  const addUsageBatch = db.transaction(
    (increments: readonly UsageIncrement[], batch: UsageBatch | undefined) => {
      if (batch) {
        const last = (sql.lastBatch.get(batch.writer) as number | undefined) ?? 0;
        if (batch.seq <= last) return;
        sql.setLastBatch.run(batch.writer, batch.seq);
      }
      for (const { apiKey, amount, quotaPeriod } of increments) {
        sql.addUsage.run(amount, apiKey);
        if (quotaPeriod !== undefined) spendQuota(apiKey, quotaPeriod, amount);
      }
      if (!batch?.window) return;
      const { start, at, length } = batch.window;
      for (const { apiKey, amount } of increments) {
        sql.addWindowUsage.run({ apiKey, amount, start, at, length });
      }
    },
  );

  return {
    addBuy: routingChange((candidate: Buy): Buy => {
      if (!sql.serviceExists.get(candidate.publicPath)) {
        throw proxyError('SERVICE_NOT_FOUND', candidate.publicPath);
      }
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
          candidate.access?.clientKey ?? null,
          candidate.access?.clientPassword ?? null,
          candidate.terms ? JSON.stringify(candidate.terms) : null,
        );
        return candidate;
      }
      const unsent = existing.pending > 0 || existing.outbox_value !== null;
      if (existing.unit !== candidate.unit && unsent) {
        throw proxyError('BUY_UNIT_CHANGE', existing.unit, candidate.unit);
      }
      const terms = candidate.terms ? JSON.stringify(candidate.terms) : null;
      sql.setBuyUnit.run(candidate.unit, candidate.recordType, terms, existing.api_key);
      const access = existing.client_key === null ? candidate.access : toBuy(existing).access;
      if (existing.client_key === null && access) {
        sql.setAccess.run(access.clientKey, access.clientPassword, existing.api_key);
      }
      return {
        ...toBuy(existing),
        unit: candidate.unit,
        recordType: candidate.recordType,
        ...(access ? { access } : {}),
        ...(candidate.terms ? { terms: candidate.terms } : {}),
      };
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
      // Unreported usage keeps the buy (revoked) until the usage reporter has sent it; an open
      // adapter session keeps it until the adapter's next update has metered its last usage.
      if (state.pending > 0 || state.outbox_value !== null || state.session_open === 1) {
        sql.revokeBuy.run(apiKey);
      } else {
        sql.deleteBuy.run(apiKey);
      }
    }),

    addUsage: async (increments, batch) => {
      for (const { amount } of increments) assertValidAmount(amount);
      addUsageBatch.immediate(increments, batch);
    },
    getUsage: async (apiKey) => sql.getUsage.get(apiKey),
  };
}
