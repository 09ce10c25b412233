import { proxyError } from '../../errors.ts';
import {
  type AdapterClient,
  type AdapterSession,
  type AdapterStore,
  applySessionEvent,
  type Product,
  type SessionEvent,
  type SessionOutcome,
  type SessionQuota,
  type SessionRateTable,
} from '../adapter.ts';
import type { SqliteDatabase } from './driver.ts';
import { sqliteQuotaSpending } from './limits.ts';
import { DELETE_SPENT_REVOKED } from './rows.ts';

interface ProductRow {
  product_id: string;
  public_path: string;
  password_hash: string;
  config: string;
  endpoint_address: string | null;
}

interface ClientRow {
  api_key: string;
  public_path: string;
  unit: string;
  client_key: string;
  client_password: string;
  client_ready: number;
  revoked: number;
  pending: number;
  outbox_value: number | null;
  session_total: number | null;
  session_counted_at: number | null;
  session_open: number;
}

const toProduct = (row: ProductRow): Product => ({
  productId: row.product_id,
  publicPath: row.public_path,
  passwordHash: row.password_hash,
  config: JSON.parse(row.config) as Record<string, string>,
  ...(row.endpoint_address === null ? {} : { endpointAddress: row.endpoint_address }),
});

const sessionOf = (row: ClientRow): AdapterSession | undefined =>
  row.session_total === null
    ? undefined
    : {
        total: row.session_total,
        countedAt: row.session_counted_at ?? 0,
        open: row.session_open === 1,
      };

const toClient = (row: ClientRow): AdapterClient => ({
  apiKey: row.api_key,
  publicPath: row.public_path,
  unit: row.unit,
  access: { clientKey: row.client_key, clientPassword: row.client_password },
  revoked: row.revoked === 1,
  ready: row.client_ready === 1,
  session: sessionOf(row),
});

/** Products, client credentials and sessions of adapter services in SQLite. */
export function sqliteAdapter(db: SqliteDatabase, rates: SessionRateTable): AdapterStore {
  const sql = {
    service: db.prepare<[string], { adapter: number }>(
      'SELECT adapter FROM services WHERE public_path = ?',
    ),
    productOf: db.prepare<[string], ProductRow>('SELECT * FROM products WHERE public_path = ?'),
    product: db.prepare<[string], ProductRow>('SELECT * FROM products WHERE product_id = ?'),
    insertProduct: db.prepare(
      'INSERT INTO products (product_id, public_path, password_hash, config) VALUES (?, ?, ?, ?)',
    ),
    replaceProduct: db.prepare(
      'UPDATE products SET product_id = ?, password_hash = ?, config = ? WHERE public_path = ?',
    ),
    setConfig: db.prepare(
      'UPDATE products SET config = ?, endpoint_address = ? WHERE product_id = ?',
    ),
    client: db.prepare<[string], ClientRow>(
      `SELECT api_key, public_path, unit, client_key, client_password, client_ready, revoked,
       pending, outbox_value, session_total, session_counted_at, session_open
       FROM buys WHERE client_key = ?`,
    ),
    ended: db.prepareValue<[string], string>(
      'SELECT public_path FROM ended_clients WHERE client_key = ?',
    ),
    setReady: db.prepare('UPDATE buys SET client_ready = 1 WHERE client_key = ? AND revoked = 0'),
    saveSession: db.prepare(
      `UPDATE buys SET session_total = ?, session_counted_at = ?, session_open = ?,
       pending = pending + ?, client_ready = client_ready OR ? WHERE api_key = ?`,
    ),
    deleteSpentRevoked: db.prepare(DELETE_SPENT_REVOKED),
    spent: db.prepareValue<[string, string], number>(
      'SELECT quota_spent FROM limit_counters WHERE api_key = ? AND quota_period = ?',
    ),
    bumpRouting: db.prepare('UPDATE routing_version SET version = version + 1 WHERE id = 1'),
  };
  const spendQuota = sqliteQuotaSpending(db);
  const spentIn = (apiKey: string, period: string) => sql.spent.get(apiKey, period) ?? 0;

  const record = db.transaction(
    (
      clientKey: string,
      event: SessionEvent,
      nowMs: number,
      quota: SessionQuota | undefined,
    ): SessionOutcome => {
      const row = sql.client.get(clientKey);
      if (!row) return { result: 'not-found', amount: 0 };
      const revoked = row.revoked === 1;
      if (revoked && event.kind === 'start') return { result: 'revoked', amount: 0 };
      const spentBefore = quota ? spentIn(row.api_key, quota.period) : 0;
      if (quota && event.kind === 'start' && spentBefore >= quota.amount) {
        return { result: 'over-quota', amount: 0 };
      }
      const current = sessionOf(row);
      if (!revoked && event.kind === 'update' && !current?.open) {
        return { result: 'no-session', amount: 0 };
      }
      const applied = applySessionEvent(rates[row.unit], current, event, nowMs);
      // A deleted buy's session ends with the update that meters its last usage.
      const session = applied.session && {
        ...applied.session,
        open: applied.session.open && !revoked,
      };
      if (session) {
        sql.saveSession.run(
          session.total,
          session.countedAt,
          +session.open,
          applied.amount,
          +(event.kind === 'start'),
          row.api_key,
        );
      }
      const outcome: SessionOutcome = {
        result: revoked ? 'revoked' : 'recorded',
        amount: applied.amount,
      };
      if (quota) {
        if (applied.amount > 0) spendQuota(row.api_key, quota.period, applied.amount);
        const spent = spentIn(row.api_key, quota.period);
        outcome.overQuota = spent >= quota.amount;
        if (outcome.overQuota && spentBefore < quota.amount) sql.bumpRouting.run();
      }
      if (revoked) sql.deleteSpentRevoked.run(row.api_key);
      return outcome;
    },
  );

  return {
    setProduct: async (product, options) => {
      db.transaction(() => {
        const service = sql.service.get(product.publicPath);
        if (!service) throw proxyError('SERVICE_NOT_FOUND', product.publicPath);
        if (service.adapter !== 1) throw proxyError('SERVICE_NOT_ADAPTER', product.publicPath);
        const existing = sql.productOf.get(product.publicPath);
        if (!existing) {
          sql.insertProduct.run(
            product.productId,
            product.publicPath,
            product.passwordHash,
            JSON.stringify(product.config),
          );
        } else if (options?.replace) {
          sql.replaceProduct.run(
            product.productId,
            product.passwordHash,
            JSON.stringify({ ...JSON.parse(existing.config), ...product.config }),
            product.publicPath,
          );
        } else {
          throw proxyError('PRODUCT_EXISTS', product.publicPath);
        }
      }).immediate();
    },
    getProduct: async (productId) => {
      const row = sql.product.get(productId);
      return row && toProduct(row);
    },
    findProduct: async (publicPath) => {
      const row = sql.productOf.get(publicPath);
      return row && toProduct(row);
    },
    setProductConfig: async (productId, config, endpointAddress) => {
      const changes = sql.setConfig.run(JSON.stringify(config), endpointAddress ?? null, productId);
      if (changes.changes === 0) throw proxyError('PRODUCT_NOT_FOUND', productId);
    },
    getClient: async (clientKey) => {
      const row = sql.client.get(clientKey);
      return row && toClient(row);
    },
    endedClient: async (clientKey) => sql.ended.get(clientKey),
    setClientReady: async (clientKey) => {
      sql.setReady.run(clientKey);
    },
    recordSession: async (clientKey, event, nowMs, quota) =>
      record.immediate(clientKey, event, nowMs, quota),
  };
}
