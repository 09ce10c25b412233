import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { openKeySession } from '../../src/usage/key-session.ts';
import type { UsageApiAnswer } from '../../src/usage/usage-api.ts';

const t0 = new Date('2026-12-01T10:00:00.000Z');

test('tries keys that worked or were never tried newest first, refused keys last, and remembers', async () => {
  const store = openSqliteStore({ filename: ':memory:' });
  assert.equal(await openKeySession(store, () => t0), undefined, 'no key, no session');
  for (const key of ['k1', 'k2', 'k3', 'k4']) await store.addMarketplaceKey(key, t0);
  await store.setMarketplaceKeyState('k4', 'refused', t0);
  await store.setMarketplaceKeyState('k2', 'accepted', t0);
  const tried: string[] = [];
  const works = new Set(['k4']);
  const call = async (key: string): Promise<UsageApiAnswer<undefined>> => {
    tried.push(key);
    return works.has(key)
      ? { outcome: 'created', value: undefined }
      : { outcome: 'key-refused', message: `refused ${key}` };
  };
  const session = await openKeySession(store, () => t0);
  assert.deepEqual(await session?.send(call), { outcome: 'created', value: undefined });
  assert.deepEqual(tried, ['k3', 'k2', 'k1', 'k4'], 'k4 was refused before: tried last');
  tried.length = 0;
  assert.deepEqual(await session?.send(call), { outcome: 'created', value: undefined });
  assert.deepEqual(tried, ['k4'], 'the cycle keeps the key that works');
  assert.deepEqual(
    (await store.listMarketplaceKeys()).map((k) => [k.key, k.state]),
    [
      ['k4', 'accepted'],
      ['k3', 'refused'],
      ['k2', 'refused'],
      ['k1', 'refused'],
    ],
  );
  works.clear();
  tried.length = 0;
  const next = await openKeySession(store, () => t0);
  assert.deepEqual(await next?.send(call), { outcome: 'key-refused', message: 'refused k1' });
  assert.deepEqual(tried, ['k4', 'k3', 'k2', 'k1']);
  tried.length = 0;
  assert.equal((await next?.send(call))?.outcome, 'key-refused');
  assert.deepEqual(tried, [], 'every key refused: no more calls in this cycle');
  await store.close();
});

test('an unknown outcome says nothing about the key', async () => {
  const store = openSqliteStore({ filename: ':memory:' });
  await store.addMarketplaceKey('k1', t0);
  const session = await openKeySession(store, () => t0);
  const answer = await session?.send(async () => ({ outcome: 'unknown', message: 'cut' }) as const);
  assert.deepEqual(answer, { outcome: 'unknown', message: 'cut' });
  assert.equal((await store.listMarketplaceKeys())[0]?.state, 'untried');
  await store.close();
});
