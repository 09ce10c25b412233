import { MARKETPLACE_KEYS_KEPT, type ReportingStore } from '../store.ts';
import type { SqliteDatabase } from './driver.ts';
import {
  DELETE_SPENT_REVOKED,
  type MarketplaceKeyRow,
  toMarketplaceKey,
  toReportable,
  type UsageRow,
  withOutbox,
} from './rows.ts';

const laterDate = (now: string, previous: string | null) =>
  previous !== null && previous > now ? previous : now;

/** The outbox of usage records, specifications and marketplace keys in SQLite. */
export function sqliteReporting(db: SqliteDatabase): ReportingStore {
  const sql = {
    usageRows: db.prepare<[], UsageRow>('SELECT * FROM buys ORDER BY seq'),
    usageRow: db.prepare<[string], UsageRow>('SELECT * FROM buys WHERE api_key = ?'),
    // One statement: the increment is atomic however many proxies share the file.
    addMeterFault: db.prepare(
      `UPDATE buys SET meter_faults = json_set(coalesce(meter_faults, '{}'), '$."' || ? || '"',
       coalesce(json_extract(meter_faults, '$."' || ? || '"'), 0) + 1) WHERE api_key = ?`,
    ),
    fillOutbox: db.prepare(
      'UPDATE buys SET outbox_value = ?, outbox_date = ?, pending = pending - ? WHERE api_key = ?',
    ),
    completeRecord: db.prepare(
      `UPDATE buys SET reported = reported + outbox_value,
       outbox_value = NULL, outbox_date = NULL, outbox_window = NULL,
       last_record_date = outbox_date,
       correlation_number = correlation_number + 1, report_status = NULL
       WHERE api_key = ? AND outbox_value IS NOT NULL AND correlation_number = ?`,
    ),
    setReportStatus: db.prepare(
      `UPDATE buys SET report_status = ?
       WHERE api_key = ? AND outbox_value IS NOT NULL AND correlation_number = ?`,
    ),
    deleteSpentRevoked: db.prepare(DELETE_SPENT_REVOKED),
    setHref: db.prepare(
      'INSERT INTO specifications (unit, href) VALUES (?, ?) ON CONFLICT (unit) DO UPDATE SET href = excluded.href',
    ),
    getHref: db.prepareValue('SELECT href FROM specifications WHERE unit = ?'),
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
  };

  const prepareRecord = db.transaction((apiKey: string, now: Date) => {
    const row = sql.usageRow.get(apiKey);
    // A purchase of the TMF v4 marketplace is reported by windows (prepareWindowRecord).
    if (!row || row.terms !== null) return undefined;
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

  return {
    listUsage: async () => sql.usageRows.all().map(toReportable),
    recordMeterFault: async (apiKey, reason) => {
      sql.addMeterFault.run(reason, reason, apiKey);
    },
    prepareRecord: async (apiKey, now) => prepareRecord.immediate(apiKey, now),
    completeRecord: async (apiKey, correlationNumber) =>
      completeRecord.immediate(apiKey, correlationNumber),
    setReportStatus: async (apiKey, correlationNumber, status) => {
      sql.setReportStatus.run(status ? JSON.stringify(status) : null, apiKey, correlationNumber);
    },
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
  };
}
