import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  OpenSqliteOptions,
  SqliteDatabase,
  SqliteStatement,
  SqliteTransaction,
} from './driver.ts';

/** Where the better-sqlite3 package is, when it is installed (`npm install` does so on Node 20). */
export function betterSqlite3Path(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('better-sqlite3');
  } catch {
    return undefined;
  }
}

/**
 * A database through better-sqlite3, loaded only when chosen: on Node 22 and later it is not
 * installed, and a copy built for another Node would not load.
 */
export function openBetterSqlite3(filename: string, options: OpenSqliteOptions): SqliteDatabase {
  const path = betterSqlite3Path();
  if (path === undefined) {
    throw new Error(
      'better-sqlite3 is not installed (npm installs it on Node 20 only; Node 22.13 and later use node:sqlite)',
    );
  }
  const Database = createRequire(import.meta.url)(path) as typeof BetterSqlite3;
  const db = new Database(filename, {
    ...(options.fileMustExist && { fileMustExist: true }),
    ...(options.readOnly && { readonly: true }),
  });
  return {
    driver: 'better-sqlite3',
    filename,
    memory: db.memory,
    get open() {
      return db.open;
    },
    exec: (sql) => {
      db.exec(sql);
    },
    prepare: <P extends unknown[], R>(sql: string) =>
      db.prepare(sql) as unknown as SqliteStatement<P, R>,
    prepareValue: <P extends unknown[], V>(sql: string) =>
      db.prepare(sql).pluck() as unknown as SqliteStatement<P, V>,
    transaction: <A extends unknown[], R>(body: (...args: A) => R): SqliteTransaction<A, R> => {
      // better-sqlite3's variants do not depend on `this`.
      const { immediate, deferred } = db.transaction(body);
      return { immediate, deferred };
    },
    close: () => {
      db.close();
    },
  };
}
