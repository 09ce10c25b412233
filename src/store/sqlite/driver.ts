/**
 * The seam between the SQLite store and the library that runs SQLite: `node:sqlite` where Node
 * has it (22.13 and later), better-sqlite3 where it does not (Node 20). Both write the same file
 * format, so a file moves between them as it is; the concern files see only these interfaces.
 */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

export const SQLITE_DRIVERS: readonly SqliteDriverName[] = ['node:sqlite', 'better-sqlite3'];

export interface SqliteStatement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): { changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/** A function run in one transaction, begun as SQLite's IMMEDIATE (write lock first) or DEFERRED. */
export interface SqliteTransaction<A extends unknown[], R> {
  immediate(...args: A): R;
  deferred(...args: A): R;
}

export interface SqliteDatabase {
  readonly driver: SqliteDriverName;
  readonly filename: string;
  /** An in-memory database: nothing on disk to checkpoint or to probe through another connection. */
  readonly memory: boolean;
  readonly open: boolean;
  exec(sql: string): void;
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): SqliteStatement<P, R>;
  /** A statement whose rows are the value of their first column. */
  prepareValue<P extends unknown[] = unknown[], V = unknown>(sql: string): SqliteStatement<P, V>;
  /** Nested calls run in a savepoint of the outer transaction; a throw rolls back, then rethrows. */
  transaction<A extends unknown[], R>(body: (...args: A) => R): SqliteTransaction<A, R>;
  close(): void;
}

export interface OpenSqliteOptions {
  /** Which library; by default `node:sqlite` wherever the running Node has it. */
  driver?: SqliteDriverName | undefined;
  /** Fail rather than create the file. */
  fileMustExist?: boolean;
  readOnly?: boolean;
}

/**
 * How long a statement waits for another connection's lock when nobody said otherwise: 5 s, as
 * better-sqlite3 does (node:sqlite would not wait at all), so both drivers lock alike.
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
