import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../../clock.ts';
import { proxyError } from '../../errors.ts';
import type { Store } from '../store.ts';
import { sqliteAdapter } from './adapter.ts';
import { sqliteBuys } from './buys.ts';
import { type CheckpointerOptions, startCheckpointer } from './checkpointer.ts';
import { sqliteLocks } from './locks.ts';
import { sqliteReporting } from './reporting.ts';
import { sqliteRouting } from './routing.ts';
import { routingChanges } from './routing-version.ts';
import { migrate } from './schema.ts';
import { sqliteSubscriptions } from './subscriptions.ts';

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
}

function openDatabase(filename: string): Database.Database {
  try {
    return new Database(filename);
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

function writeProbe(db: Database.Database): { check(): void; close(): void } {
  let probeDb: Database.Database | undefined;
  const connection = () => {
    if (db.memory) return db;
    if (!probeDb) {
      probeDb = new Database(db.name, { fileMustExist: true });
      probeDb.pragma('busy_timeout = 25');
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
  const db = openDatabase(options.filename);
  db.pragma('journal_mode = WAL');
  // WAL with synchronous=NORMAL survives a process crash; FULL would also survive power loss at
  // the price of an fsync per commit. A crash of the proxy is the case we must not lose usage in.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 250}`);
  migrate(db);
  const checkpointer =
    options.backgroundCheckpoints && !db.memory
      ? startCheckpointer(db, options.backgroundCheckpoints)
      : undefined;
  const routingChange = routingChanges(db);
  const probe = writeProbe(db);
  return {
    kind: 'sqlite',
    ...sqliteRouting(db, routingChange),
    ...sqliteBuys(db, routingChange),
    ...sqliteReporting(db),
    ...sqliteLocks(db, options.clock ?? systemClock),
    ...sqliteSubscriptions(db),
    ...sqliteAdapter(db),
    isAvailable: () => db.open,
    probe: async () => probe.check(),
    watchChanges: async (onChange) => {
      // data_version moves with every commit of another connection; reading it is a memory read.
      let seen = db.pragma('data_version', { simple: true });
      const timer = setInterval(() => {
        if (!db.open) return;
        const now = db.pragma('data_version', { simple: true });
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
