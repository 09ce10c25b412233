import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { type Collect, createRelayGc, v8Collect } from '../../src/proxy/relay-gc.ts';

const MiB = 1048576;

function recorder(startExternal = 10 * MiB) {
  const calls: string[] = [];
  const state = { external: startExternal };
  const collect: Collect = ({ type, execution }) => calls.push(`${type}/${execution}`);
  return { calls, state, collect, externalBytes: () => state.external };
}

describe('collecting relayed socket buffers', () => {
  test('a young collection every 8 MiB relayed, none before', () => {
    const r = recorder();
    const gc = createRelayGc(r);
    for (let i = 0; i < 127; i++) gc.relayed(65536);
    assert.deepEqual(r.calls, []);
    gc.relayed(65536);
    assert.deepEqual(r.calls, ['minor/sync']);
    for (let i = 0; i < 128; i++) gc.relayed(65536);
    assert.deepEqual(r.calls, ['minor/sync', 'minor/sync']);
  });

  test('an incremental full collection once external memory grew 16 MiB past its low point', () => {
    const r = recorder(10 * MiB);
    const gc = createRelayGc({ ...r, everyBytes: MiB });
    r.state.external = 4 * MiB; // the low point moves down with what young collections free
    gc.relayed(MiB);
    r.state.external = 20 * MiB;
    gc.relayed(MiB);
    assert.deepEqual(r.calls, ['minor/sync', 'minor/sync'], '16 MiB over 4 is not passed yet');
    r.state.external = 20 * MiB + 1;
    gc.relayed(MiB);
    assert.deepEqual(r.calls.slice(2), ['minor/sync', 'major/async']);
    // The floor is what external memory was after asking: the next full one needs 16 MiB more.
    r.state.external = 30 * MiB;
    gc.relayed(MiB);
    assert.deepEqual(r.calls.slice(4), ['minor/sync']);
  });

  test("V8's collector is taken without a global gc for any script", () => {
    const collect = v8Collect();
    assert.equal(typeof collect, 'function');
    collect({ type: 'minor', execution: 'sync' });
    assert.equal((globalThis as { gc?: unknown }).gc, undefined);
    assert.equal(runInNewContext('typeof gc'), 'undefined', 'contexts made later have none');
  });
});
