import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { CheckpointResult } from '../../src/store/sqlite/checkpointer.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/open-database.ts';
import { addOneBuy } from '../support/seed.ts';
import { usableSqliteDrivers } from '../support/sqlite-drivers.ts';

const dir = mkdtempSync(join(tmpdir(), 'ap-checkpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

for (const driver of usableSqliteDrivers()) {
  describe(`WAL checkpoints through ${driver}`, () => {
    test('a worker thread checkpoints the WAL and restarts it under steady commits, losing nothing', async () => {
      const filename = join(dir, `steady-${driver.replace(':', '-')}.sqlite`);
      const results: CheckpointResult[] = [];
      const errors: string[] = [];
      const restartFrames = 64;
      const store = openSqliteStore({
        filename,
        driver,
        backgroundCheckpoints: {
          intervalMs: 5,
          restartFrames,
          onCheckpoint: (result) => results.push(result),
          onError: (message) => errors.push(message),
        },
      });
      await addOneBuy(store, 'http://127.0.0.1:1');

      // A passive checkpoint alone never restarts the WAL while commits continue: its frame count
      // would only grow. Commits go on (bounded) until the WAL has passed the limit and restarted.
      const restartedUnderLoad = () =>
        results.some(
          (r, i) => r.log >= restartFrames && results.slice(i).some((s) => s.log < r.log),
        );
      let batches = 0;
      while (!restartedUnderLoad() && batches < 200_000) {
        await store.addUsage([{ apiKey: 'key', amount: 1 }], { writer: 'w', seq: ++batches });
        if (batches % 20 === 0) await nextTurn();
      }
      assert.ok(restartedUnderLoad(), `the WAL restarted (${results.length} checkpoints)`);
      assert.deepEqual(errors, []);
      assert.equal((await store.getUsage('key'))?.pending, batches);

      await store.close();
      // The last connection to close checkpoints everything and removes the WAL.
      assert.equal(existsSync(`${filename}-wal`), false);
      const reopened = openSqliteDatabase(filename, { driver, readOnly: true });
      const pending = reopened.prepareValue("SELECT pending FROM buys WHERE api_key = 'key'").get();
      reopened.close();
      assert.equal(pending, batches);
    });

    test('commits no longer checkpoint inline while the worker runs', async () => {
      const filename = join(dir, `inline-${driver.replace(':', '-')}.sqlite`);
      // An interval too long to tick during the test: only inline checkpoints could shrink the WAL.
      const store = openSqliteStore({
        filename,
        driver,
        backgroundCheckpoints: { intervalMs: 3_600_000, onError: () => {} },
      });
      await addOneBuy(store, 'http://127.0.0.1:1');
      const commit = (count: number) => {
        for (let i = 0; i < count; i++) void store.addUsage([{ apiKey: 'key', amount: 1 }]);
      };
      const walFrames = () => {
        const observer = openSqliteDatabase(filename, { driver });
        const result = observer
          .prepare<[], CheckpointResult>('PRAGMA wal_checkpoint(PASSIVE)')
          .get();
        observer.close();
        return result?.log ?? 0;
      };
      // SQLite's default would checkpoint and restart the WAL every 1000 pages.
      commit(2500);
      assert.ok(walFrames() >= 2500, 'every commit stayed in the WAL');
      await store.close();
      assert.equal(existsSync(`${filename}-wal`), false);
    });
  });
}
