import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SqliteDriverName } from '../../src/store/sqlite/driver.ts';
import { migrations } from '../../src/store/sqlite/schema.ts';
import { usableSqliteDrivers } from '../support/sqlite-drivers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOOL = fileURLToPath(new URL('../support/sqlite-file-tool.ts', import.meta.url));
const run = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'ap-drivers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The Node that runs each driver: this one where it can; for node:sqlite on Node 20, the Node of
 * another line named by ACCOUNTING_PROXY_TEST_OTHER_NODE (.ci/run passes its Node 26). On Node 22
 * and later better-sqlite3 is not installed, so the move between drivers is tested on Node 20.
 */
function nodeFor(driver: SqliteDriverName): string | undefined {
  if (usableSqliteDrivers().includes(driver)) return process.execPath;
  if (driver === 'node:sqlite') return process.env.ACCOUNTING_PROXY_TEST_OTHER_NODE || undefined;
  return undefined;
}

async function tool(node: string, action: string, file: string, driver?: SqliteDriverName) {
  const { stdout, stderr } = await run(
    node,
    ['--import', 'tsx', TOOL, action, file, ...(driver ? [driver] : [])],
    { cwd: ROOT },
  );
  return { stdout, stderr };
}

const dumpWith = async (node: string, file: string, driver: SqliteDriverName) => {
  const {
    driver: used,
    schema,
    data,
  } = JSON.parse((await tool(node, 'dump', file, driver)).stdout);
  assert.equal(used, driver);
  assert.equal(schema, migrations.length);
  return data;
};

const betterSqlite3 = nodeFor('better-sqlite3');
const nodeSqlite = nodeFor('node:sqlite');

test('a file written through better-sqlite3 is read and written through node:sqlite with everything intact, and back', {
  skip:
    betterSqlite3 && nodeSqlite
      ? false
      : 'needs better-sqlite3 (installed on Node 20) and node:sqlite (Node 22.13+, or ACCOUNTING_PROXY_TEST_OTHER_NODE)',
}, async () => {
  if (!betterSqlite3 || !nodeSqlite) return;
  const file = join(dir, 'moved.sqlite');
  await tool(betterSqlite3, 'seed', file, 'better-sqlite3');
  const written = await dumpWith(betterSqlite3, file, 'better-sqlite3');
  // Everything seeded is there to compare: no empty answer passes for "intact".
  assert.equal(written.usage.length, 4);
  assert.ok(written.usage.find((buy: { apiKey: string }) => buy.apiKey === 'k1').outbox);
  assert.equal(written.client.session.open, true);
  assert.deepEqual(await dumpWith(nodeSqlite, file, 'node:sqlite'), written);

  await tool(nodeSqlite, 'change', file, 'node:sqlite');
  const changed = await dumpWith(nodeSqlite, file, 'node:sqlite');
  assert.notDeepEqual(changed, written);
  assert.deepEqual(await dumpWith(betterSqlite3, file, 'better-sqlite3'), changed);
});

test('opening a store as the proxy does writes nothing on stderr (no warning about node:sqlite)', async () => {
  const { stderr } = await tool(process.execPath, 'quiet', join(dir, 'quiet.sqlite'));
  assert.equal(stderr, '');
});
