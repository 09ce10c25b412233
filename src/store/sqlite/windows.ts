import type { WindowRecord, WindowStore } from '../store.ts';
import type { SqliteDatabase } from './driver.ts';

interface OutboxRow {
  outbox_value: number | null;
  outbox_date: string | null;
  outbox_window: number | null;
  correlation_number: number;
}

interface WindowRow {
  window_start: number;
  amount: number;
  last_at: number;
}

/** Usage records of windows (tmf4 mode) in SQLite. */
export function sqliteWindows(db: SqliteDatabase): WindowStore {
  const sql = {
    outbox: db.prepare<[string], OutboxRow>(
      'SELECT outbox_value, outbox_date, outbox_window, correlation_number FROM buys WHERE api_key = ?',
    ),
    oldest: db.prepare<[string, number], WindowRow>(
      `SELECT window_start, amount, last_at FROM usage_windows
       WHERE api_key = ? AND window_start < ? ORDER BY window_start LIMIT 1`,
    ),
    // The last window takes what is left exactly: the two sums may differ in their last bits.
    fillOutbox: db.prepare(
      `UPDATE buys SET outbox_value = @amount, outbox_date = @date, outbox_window = @start,
       last_window = max(coalesce(last_window, @start), @start),
       pending = CASE WHEN EXISTS (SELECT 1 FROM usage_windows WHERE api_key = @apiKey
         AND window_start != @start) THEN pending - @amount ELSE 0 END
       WHERE api_key = @apiKey`,
    ),
    dropWindow: db.prepare('DELETE FROM usage_windows WHERE api_key = ? AND window_start = ?'),
  };
  const prepare = db.transaction((apiKey: string, closedBefore: number) => {
    const buy = sql.outbox.get(apiKey);
    if (!buy) return undefined;
    const record = (window: number, value: number, date: string): WindowRecord => ({
      apiKey,
      window,
      value,
      date,
      correlationNumber: buy.correlation_number,
    });
    if (buy.outbox_value !== null) {
      // A record of the admin API's kind (no window) is not this reporter's to send.
      if (buy.outbox_window === null) return undefined;
      return record(buy.outbox_window, buy.outbox_value, buy.outbox_date ?? '');
    }
    const window = sql.oldest.get(apiKey, closedBefore);
    if (!window) return undefined;
    const date = new Date(window.last_at).toISOString();
    sql.fillOutbox.run({ apiKey, amount: window.amount, date, start: window.window_start });
    sql.dropWindow.run(apiKey, window.window_start);
    return record(window.window_start, window.amount, date);
  });
  return {
    prepareWindowRecord: async (apiKey, closedBefore) =>
      prepare.immediate(
        apiKey,
        Number.isFinite(closedBefore) ? closedBefore : Number.MAX_SAFE_INTEGER,
      ),
  };
}
