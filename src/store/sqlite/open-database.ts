import { betterSqlite3Path, openBetterSqlite3 } from './better-sqlite3.ts';
import {
  type OpenSqliteOptions,
  SQLITE_DRIVERS,
  type SqliteDatabase,
  type SqliteDriverName,
} from './driver.ts';
import { nodeSqliteModule, openNodeSqlite } from './node-sqlite.ts';

/** `node:sqlite` wherever the running Node has it; better-sqlite3 otherwise (Node 20). */
export function defaultSqliteDriver(): SqliteDriverName {
  return nodeSqliteModule() ? 'node:sqlite' : 'better-sqlite3';
}

/** The drivers this process can run, the default first. */
export function availableSqliteDrivers(): SqliteDriverName[] {
  return SQLITE_DRIVERS.filter((driver) =>
    driver === 'node:sqlite' ? nodeSqliteModule() !== undefined : betterSqlite3Path() !== undefined,
  );
}

export function openSqliteDatabase(
  filename: string,
  options: OpenSqliteOptions = {},
): SqliteDatabase {
  const driver = options.driver ?? defaultSqliteDriver();
  return driver === 'node:sqlite'
    ? openNodeSqlite(filename, options)
    : openBetterSqlite3(filename, options);
}
