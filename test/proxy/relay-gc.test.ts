import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { createRelayGc, v8CollectYoung } from '../../src/proxy/relay-gc.ts';

describe('collecting relayed socket buffers', () => {
  test('a young collection every 8 MiB relayed, none before', () => {
    let collections = 0;
    const gc = createRelayGc(() => collections++);
    for (let i = 0; i < 127; i++) gc.relayed(65536);
    assert.equal(collections, 0);
    gc.relayed(65536);
    assert.equal(collections, 1);
    for (let i = 0; i < 127; i++) gc.relayed(65536);
    assert.equal(collections, 1, 'counted again from zero');
    gc.relayed(65536);
    assert.equal(collections, 2);
  });

  test("V8's collector is taken without a global gc for any script", () => {
    const collectYoung = v8CollectYoung();
    collectYoung();
    assert.equal((globalThis as { gc?: unknown }).gc, undefined);
    assert.equal(runInNewContext('typeof gc'), 'undefined', 'contexts made later have none');
  });
});
