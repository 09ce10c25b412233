import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  type OpenSqliteOptions,
  type SqliteDatabase,
  type SqliteStatement,
  type SqliteTransaction,
} from './driver.ts';

/*
 * The part of `node:sqlite` the store uses, declared here because @types/node follows Node 20,
 * which has no such module.
 */
interface NodeStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Record<string, unknown>[];
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
  close(): void;
  /** Node 22.16 and later; older lines are asked by trying a rollback. */
  readonly isTransaction?: boolean;
}
interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => NodeDatabase;
}

let loaded: NodeSqliteModule | null | undefined;

/**
 * `node:sqlite`, or undefined where this Node has none (20, and 22 before 22.13 without a flag).
 * Node 22 announces the module with an ExperimentalWarning on stderr when it is first loaded; the
 * proxy's stderr is for its own faults, so that one warning is dropped: `process.emitWarning` is
 * wrapped for the synchronous load only, and every other warning passes through unchanged.
 */
export function nodeSqliteModule(): NodeSqliteModule | undefined {
  if (loaded === undefined) {
    const emitWarning = process.emitWarning;
    process.emitWarning = function dropSqliteNotice(this: unknown, warning, ...rest: never[]) {
      if (String(warning).startsWith('SQLite is an experimental feature')) return;
      return emitWarning.call(process, warning, ...rest);
    } as typeof process.emitWarning;
    try {
      loaded = createRequire(import.meta.url)('node:sqlite') as NodeSqliteModule;
    } catch {
      loaded = null;
    } finally {
      process.emitWarning = emitWarning;
    }
  }
  return loaded ?? undefined;
}

/*
 * node:sqlite answers rows as objects without a prototype; the store hands rows on as they are in
 * places, and better-sqlite3's are plain objects: so are these.
 */
class RowStatement implements SqliteStatement {
  constructor(protected readonly statement: NodeStatement) {}
  run(...params: unknown[]) {
    return this.statement.run(...params) as { changes: number };
  }
  get(...params: unknown[]): unknown {
    const row = this.statement.get(...params);
    return row === undefined ? undefined : { ...row };
  }
  all(...params: unknown[]): unknown[] {
    return this.statement.all(...params).map((row) => ({ ...row }));
  }
}

function firstColumn(row: Record<string, unknown> | undefined): unknown {
  if (row === undefined) return undefined;
  for (const column in row) return row[column];
  return undefined;
}

/** The rows' first column, as better-sqlite3's `pluck()` gives. */
class ValueStatement extends RowStatement {
  override get(...params: unknown[]) {
    return firstColumn(this.statement.get(...params));
  }
  override all(...params: unknown[]) {
    return this.statement.all(...params).map(firstColumn);
  }
}

/** A database through `node:sqlite`'s DatabaseSync: transactions are written out here. */
export function openNodeSqlite(filename: string, options: OpenSqliteOptions): SqliteDatabase {
  const sqlite = nodeSqliteModule();
  if (!sqlite) throw new Error(`node:sqlite is not available on Node ${process.versions.node}`);
  const memory = filename === ':memory:' || filename === '';
  if (options.fileMustExist && !memory && !existsSync(filename)) {
    throw new Error(`unable to open database file: ${filename} does not exist`);
  }
  const db = new sqlite.DatabaseSync(filename, options.readOnly ? { readOnly: true } : {});
  db.exec(`PRAGMA busy_timeout = ${DEFAULT_BUSY_TIMEOUT_MS}`);
  let open = true;
  let depth = 0;
  // Prepared once: BEGIN and COMMIT are on the path of every usage commit.
  const control = {
    immediate: db.prepare('BEGIN IMMEDIATE'),
    deferred: db.prepare('BEGIN DEFERRED'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare('SAVEPOINT nested'),
    release: db.prepare('RELEASE nested'),
    rollbackTo: db.prepare('ROLLBACK TO nested'),
  };
  // SQLite may have rolled the transaction back itself (a full disk, an interrupted statement).
  const rollback = () => {
    if (db.isTransaction === false) return;
    try {
      control.rollback.run();
    } catch {
      // No transaction was active any more: nothing to undo.
    }
  };
  const nested = <A extends unknown[], R>(body: (...args: A) => R, args: A): R => {
    control.savepoint.run();
    try {
      const result = body(...args);
      control.release.run();
      return result;
    } catch (error) {
      control.rollbackTo.run();
      control.release.run();
      throw error;
    }
  };
  const run = <A extends unknown[], R>(begin: NodeStatement, body: (...args: A) => R, args: A) => {
    if (depth > 0) return nested(body, args);
    begin.run();
    depth++;
    try {
      const result = body(...args);
      control.commit.run();
      return result;
    } catch (error) {
      rollback();
      throw error;
    } finally {
      depth--;
    }
  };
  return {
    driver: 'node:sqlite',
    filename,
    memory,
    get open() {
      return open;
    },
    exec: (sql) => db.exec(sql),
    prepare: <P extends unknown[], R>(sql: string) =>
      new RowStatement(db.prepare(sql)) as unknown as SqliteStatement<P, R>,
    prepareValue: <P extends unknown[], V>(sql: string) =>
      new ValueStatement(db.prepare(sql)) as unknown as SqliteStatement<P, V>,
    transaction: <A extends unknown[], R>(body: (...args: A) => R): SqliteTransaction<A, R> => ({
      immediate: (...args) => run(control.immediate, body, args),
      deferred: (...args) => run(control.deferred, body, args),
    }),
    close: () => {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}
