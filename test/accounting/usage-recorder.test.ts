import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { createUsageRecorder } from '../../src/accounting/usage-recorder.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store, UsageBatch, UsageIncrement } from '../../src/store/store.ts';
import { testClock } from '../support/test-clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'ap-recorder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function storeWithBuys(apiKeys: string[]): Promise<Store> {
  const store = openSqliteStore({ filename: join(dir, `${apiKeys.join('-')}.sqlite`) });
  await store.addService({
    publicPath: '/svc',
    url: 'http://127.0.0.1:1',
    appId: 'app',
    methods: ['GET'],
    isContextBroker: false,
  });
  for (const [i, apiKey] of apiKeys.entries()) {
    await store.addBuy({
      apiKey,
      publicPath: '/svc',
      orderId: `o${i}`,
      productId: 'p',
      customer: 'alice',
      unit: 'megabyte',
      recordType: 'datausage',
    });
  }
  return store;
}

test('the increments of one turn reach the store as one batch with one sum per buy', async () => {
  const store = await storeWithBuys(['a', 'b']);
  const batches: UsageIncrement[][] = [];
  const observed: Store = {
    ...store,
    addUsage: (increments, batch) => {
      batches.push([...increments]);
      return store.addUsage(increments, batch);
    },
  };
  const recorder = createUsageRecorder({ store: observed, log: pino({ level: 'silent' }) });
  const amounts = [0.5, 0.25, 1.5, 3, 0.125];
  const recorded = amounts.flatMap((amount) => [
    recorder.record('a', amount),
    recorder.record('b', amount * 2),
  ]);
  await Promise.all(recorded);

  assert.deepEqual(batches, [
    [
      { apiKey: 'a', amount: 5.375 },
      { apiKey: 'b', amount: 10.75 },
    ],
  ]);
  assert.equal((await store.getUsage('a'))?.pending, 5.375);
  assert.equal((await store.getUsage('b'))?.pending, 10.75);
  await store.close();
});

test('with usage windows (tmf4), a batch names the window of its commit and keeps it when retried', async () => {
  const store = await storeWithBuys(['w']);
  const batches: (UsageBatch | undefined)[] = [];
  let failures = 1;
  const clock = testClock(7_200_000 + 3_599_999);
  const observed: Store = {
    ...store,
    addUsage: (increments, batch) => {
      batches.push(batch);
      // The first attempt fails as the hour turns: the retry comes in the next window.
      if (failures-- > 0) {
        clock.advance(10);
        return Promise.reject(new Error('store down'));
      }
      return store.addUsage(increments, batch);
    },
  };
  const recorder = createUsageRecorder({
    store: observed,
    log: pino({ level: 'silent' }),
    clock,
    windowMs: 3_600_000,
    retryDelayMs: 1,
  });
  const committed = recorder.record('w', 1);
  // The recorder's retry timer is unreferenced (it never keeps a proxy up): this one waits for it.
  const keepAlive = setInterval(() => {}, 1000);
  await committed;
  clearInterval(keepAlive);
  assert.equal(batches.length, 2);
  for (const batch of batches) {
    assert.deepEqual(batch?.window, {
      start: 7_200_000,
      at: 7_200_000 + 3_599_999,
      length: 3_600_000,
    });
  }
  await store.close();
});
