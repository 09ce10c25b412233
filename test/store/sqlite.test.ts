import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultConfig } from '../../config.ts';
import type { SqliteDriverName } from '../../src/store/sqlite/driver.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/open-database.ts';
import { migrations } from '../../src/store/sqlite/schema.ts';
import { SESSION_RATES } from '../support/session-rates.ts';
import { usableSqliteDrivers } from '../support/sqlite-drivers.ts';
import { storeContract } from './contract/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ap-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
// As the proxy runs it: WAL checkpoints in a worker thread.
const open = (filename: string, driver?: SqliteDriverName) =>
  openSqliteStore({
    filename,
    driver,
    sessionRates: SESSION_RATES,
    backgroundCheckpoints: {
      intervalMs: 10,
      onError: (message) => {
        throw new Error(message);
      },
    },
  });

// Every driver this Node can run: node:sqlite on 22.13 and later, better-sqlite3 where installed.
for (const driver of usableSqliteDrivers()) {
  storeContract(`SQLite (${driver})`, {
    async create() {
      const filename = join(dir, `store-${++files}.sqlite`);
      return {
        store: open(filename, driver),
        reopen: async () => open(filename, driver),
        database: {
          ...defaultConfig().database,
          type: 'sqlite',
          name: filename,
          sqlite_driver: driver,
        },
      };
    },
  });
}

test('a file of the first schema keeps its marketplace token as its only key and its usage', async () => {
  const filename = join(dir, 'schema-1.sqlite');
  const db = openSqliteDatabase(filename);
  db.exec(migrations[0] ?? '');
  db.exec('PRAGMA user_version = 1');
  db.exec(`INSERT INTO services VALUES ('/svc', 'http://b', 'app', 'GET', 0);
    INSERT INTO buys (api_key, public_path, order_id, product_id, customer, unit, record_type, pending, seq)
    VALUES ('k1', '/svc', 'o', 'p', 'alice', 'call', 'callusage', 3, 1);
    INSERT INTO settings VALUES ('marketplace_token', 'legacy-token');`);
  db.close();
  const store = open(filename);
  try {
    const keys = await store.listMarketplaceKeys();
    assert.deepEqual(
      keys.map((k) => [k.key, k.state]),
      [['legacy-token', 'untried']],
    );
    assert.match(keys[0]?.receivedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const [usage] = await store.listUsage();
    assert.equal(usage?.pending, 3);
    assert.equal(usage?.reportStatus, undefined);
  } finally {
    await store.close();
  }
});
