import type { SqliteDriverName } from '../../src/store/sqlite/driver.ts';
import { SQLITE_DRIVERS } from '../../src/store/sqlite/driver.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/open-database.ts';

/**
 * The SQLite drivers this process can run: node:sqlite on Node 22.13 and later, better-sqlite3
 * where it is installed and built for this Node (npm installs it on Node 20 only).
 */
export function usableSqliteDrivers(): SqliteDriverName[] {
  return SQLITE_DRIVERS.filter((driver) => {
    try {
      openSqliteDatabase(':memory:', { driver }).close();
      return true;
    } catch {
      return false;
    }
  });
}
