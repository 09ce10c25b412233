/** prom-client's default process metrics, ours: the same series, the GC histogram fed by V8. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../src/ops/process-metrics.ts';

const namesOf = async (registry: Registry) =>
  (await registry.getMetricsAsJSON()).map((metric) => `${metric.name} ${metric.type}`).sort();

test("the same metrics as prom-client's collectDefaultMetrics, with the prefix", async () => {
  const theirs = new Registry();
  collectDefaultMetrics({ register: theirs, prefix: 'ap_' });
  const ours = new Registry();
  const tracking = collectProcessMetrics(ours, 'ap_');
  try {
    assert.deepEqual(await namesOf(ours), await namesOf(theirs));
  } finally {
    tracking.stop();
  }
});

test('garbage collections are counted by kind when scraped', async () => {
  const registry = new Registry();
  const tracking = collectProcessMetrics(registry, 'ap_');
  const scavenges = async () => {
    // Entries reach observers after the turn that made them.
    await new Promise((resolve) => setImmediate(resolve));
    const text = await registry.metrics();
    return Number(
      /^ap_nodejs_gc_duration_seconds_count\{kind="minor"\} (\d+)$/m.exec(text)?.[1] ?? 0,
    );
  };
  try {
    let kept: unknown;
    // Young objects by the megabyte: scavenges follow within a few rounds.
    for (let round = 0; round < 100 && (await scavenges()) === 0; round++) {
      for (let i = 0; i < 100_000; i++) kept = { round, i, list: [i] };
    }
    assert.ok(kept);
    assert.ok((await scavenges()) > 0, 'minor collections observed');
    const text = await registry.metrics();
    assert.match(text, /^ap_nodejs_gc_duration_seconds_bucket\{le="0.001",kind="minor"\} \d+$/m);
  } finally {
    tracking.stop();
  }
});
