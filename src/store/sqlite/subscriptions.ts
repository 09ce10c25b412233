import { proxyError } from '../../errors.ts';
import type { SubscriptionStore } from '../store.ts';
import type { SqliteDatabase } from './driver.ts';
import { type SubscriptionRow, toSubscription } from './rows.ts';

/** Orion subscriptions in SQLite; they go with their buy (ON DELETE CASCADE). */
export function sqliteSubscriptions(db: SqliteDatabase): SubscriptionStore {
  const sql = {
    activeBuy: db.prepareValue('SELECT 1 FROM buys WHERE api_key = ? AND revoked = 0'),
    insert: db.prepare(
      `INSERT OR REPLACE INTO subscriptions (subscription_id, api_key, notification_url, version,
       secret, fiware_service, fiware_service_path) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE subscription_id = ?',
    ),
    list: db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE api_key = ? ORDER BY subscription_id',
    ),
    updateUrl: db.prepare(
      'UPDATE subscriptions SET notification_url = ? WHERE subscription_id = ?',
    ),
    delete: db.prepare('DELETE FROM subscriptions WHERE subscription_id = ?'),
  };
  return {
    addSubscription: async (s) => {
      if (!sql.activeBuy.get(s.apiKey)) throw proxyError('BUY_NOT_FOUND', s.apiKey);
      sql.insert.run(
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
      const row = sql.get.get(id);
      return row && toSubscription(row);
    },
    listSubscriptions: async (apiKey) => sql.list.all(apiKey).map(toSubscription),
    updateSubscriptionUrl: async (id, url) => {
      if (sql.updateUrl.run(url, id).changes === 0) throw proxyError('SUBSCRIPTION_NOT_FOUND');
    },
    deleteSubscription: async (id) => {
      sql.delete.run(id);
    },
  };
}
