/**
 * The two SQLite drivers side by side on the Node that runs the bench. node:sqlite needs Node
 * 22.13 or later; there `npm install` leaves better-sqlite3 out, so the bench builds its own copy
 * for this Node once, in bench/.cache (the line for Node 22 and later: 13), and gives it to the
 * proxy through NODE_PATH. Never part of `npm install` or of the tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { usableSqliteDrivers } from '../test/support/sqlite-drivers.ts';

const CACHE = fileURLToPath(new URL('./.cache', import.meta.url));

export interface DriverEnvs {
  'node:sqlite': Record<string, string>;
  'better-sqlite3': Record<string, string>;
}

/** What a proxy process needs in its environment to run each driver, or why the pair can't run. */
export function sqliteDriverEnvs(): DriverEnvs | string {
  const usable = usableSqliteDrivers();
  if (!usable.includes('node:sqlite')) {
    return `node:sqlite needs Node 22.13 or later (this is ${process.version}): run the bench on a newer Node for the driver rows`;
  }
  const nodeSqlite = { ACCOUNTING_PROXY_SQLITE_DRIVER: 'node:sqlite' };
  const better = { ACCOUNTING_PROXY_SQLITE_DRIVER: 'better-sqlite3' };
  if (usable.includes('better-sqlite3'))
    return { 'node:sqlite': nodeSqlite, 'better-sqlite3': better };
  const prefix = `${CACHE}/better-sqlite3-abi${process.versions.modules}`;
  if (!existsSync(`${prefix}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`)) {
    process.stderr.write(`building better-sqlite3 for ${process.version} in ${prefix}\n`);
    mkdirSync(prefix, { recursive: true });
    execFileSync(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, 'better-sqlite3@13'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return {
    'node:sqlite': nodeSqlite,
    'better-sqlite3': { ...better, NODE_PATH: `${prefix}/node_modules` },
  };
}
