import type { SettingsStore } from '../store.ts';
import type { SqliteDatabase } from './driver.ts';

/** The proxy's own settings in SQLite's settings table. */
export function sqliteSettings(db: SqliteDatabase): SettingsStore {
  const sql = {
    claim: db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)'),
    get: db.prepareValue<[string], string>('SELECT value FROM settings WHERE key = ?'),
  };
  const claim = db.transaction((name: string, value: string) => {
    sql.claim.run(name, value);
    return sql.get.get(name) ?? value;
  });
  return { claimSetting: async (name, value) => claim.immediate(name, value) };
}
