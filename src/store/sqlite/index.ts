import { type Clock, systemClock } from '../../clock.ts';
import { proxyError } from '../../errors.ts';
import type { SessionRateTable } from '../adapter.ts';
import type { Store } from '../store.ts';
import { sqliteAdapter } from './adapter.ts';
import { sqliteBuys } from './buys.ts';
import { type CheckpointerOptions, startCheckpointer } from './checkpointer.ts';
import type { SqliteDatabase, SqliteDriverName } from './driver.ts';
import { sqliteLimits } from './limits.ts';
import { sqliteLocks } from './locks.ts';
import { openSqliteDatabase } from './open-database.ts';
import { sqliteReporting } from './reporting.ts';
import { sqliteRouting } from './routing.ts';
import { routingChanges } from './routing-version.ts';
import { migrate } from './schema.ts';
import { sqliteSettings } from './settings.ts';
import { sqliteSubscriptions } from './subscriptions.ts';
import { sqliteWindows } from './windows.ts';

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
  /** How each unit meters an adapter session (none: sessions meter nothing). */
  sessionRates?: SessionRateTable;
  /** The library that runs SQLite (default: node:sqlite where this Node has it). */
  driver?: SqliteDriverName | undefined;
}

function openDatabase(filename: string, driver: SqliteDriverName | undefined): SqliteDatabase {
  try {
    return openSqliteDatabase(filename, { driver });
  } catch (error) {
    throw proxyError(
      'STORE_CONNECTION_FAILED',
      `SQLite file "${filename}"`,
      (error as Error).message,
    );
  }
}

/**
 * Whether the file can be written now, on a connection of its own that waits for a lock only
 * briefly: SQLite waits synchronously, and a readiness probe must not stall the proxy for long.
 */
// How often another process's commits are looked for (the routing poll stays the safety net).
const CHANGE_CHECK_MS = 50;

function writeProbe(db: SqliteDatabase): { check(): void; close(): void } {
  let probeDb: SqliteDatabase | undefined;
  const connection = () => {
    if (db.memory) return db;
    if (!probeDb) {
      probeDb = openSqliteDatabase(db.filename, { driver: db.driver, fileMustExist: true });
      probeDb.exec('PRAGMA busy_timeout = 25');
    }
    return probeDb;
  };
  return {
    check() {
      const probing = connection();
      probing.exec('BEGIN IMMEDIATE');
      probing.exec('ROLLBACK');
    },
    close: () => probeDb?.close(),
  };
}

/** The store in one SQLite file: WAL, prepared statements, schema versioned by user_version. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options.filename, options.driver);
  db.exec('PRAGMA journal_mode = WAL');
  // WAL with synchronous=NORMAL survives a process crash; FULL would also survive power loss at
  // the price of an fsync per commit. A crash of the proxy is the case we must not lose usage in.
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 250}`);
  migrate(db);
  const checkpointer =
    options.backgroundCheckpoints && !db.memory
      ? startCheckpointer(db, options.backgroundCheckpoints)
      : undefined;
  const routingChange = routingChanges(db);
  const probe = writeProbe(db);
  return {
    kind: 'sqlite',
    driver: db.driver,
    ...sqliteRouting(db, routingChange),
    ...sqliteBuys(db, routingChange),
    ...sqliteReporting(db),
    ...sqliteLocks(db, options.clock ?? systemClock),
    ...sqliteSubscriptions(db),
    ...sqliteAdapter(db, options.sessionRates ?? {}),
    ...sqliteSettings(db),
    ...sqliteWindows(db),
    ...sqliteLimits(db, routingChange),
    isAvailable: () => db.open,
    probe: async () => probe.check(),
    watchChanges: async (onChange) => {
      // data_version moves with every commit of another connection; reading it is a memory read.
      const dataVersion = db.prepareValue<[], number>('PRAGMA data_version');
      let seen = dataVersion.get();
      const timer = setInterval(() => {
        if (!db.open) return;
        const now = dataVersion.get();
        if (now !== seen) {
          seen = now;
          onChange();
        }
      }, CHANGE_CHECK_MS);
      timer.unref();
      return async () => clearInterval(timer);
    },
    close: async () => {
      await checkpointer?.stop();
      probe.close();
      db.close();
    },
  };
}
