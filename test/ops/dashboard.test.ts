/** The metric names the docs and the Grafana dashboard use are the ones the proxy exports. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Metrics } from '../../src/ops/metrics.ts';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

async function exportedNames(): Promise<{ ours: string[]; all: Set<string> }> {
  const metrics = new Metrics({
    storeFigures: async () => ({
      up: true,
      pending: new Map(),
      outboxRecords: 0,
      rejectedBuys: 0,
      buysOverQuota: 0,
    }),
    uncommitted: () => 0,
  });
  const all = new Set<string>();
  const ours: string[] = [];
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    all.add(metric.name);
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) all.add(metric.name + suffix);
    }
    if (!/^accounting_proxy_(process|nodejs)_/.test(metric.name)) ours.push(metric.name);
  }
  return { ours, all };
}

const namesIn = (text: string) => new Set(text.match(/accounting_proxy_[a-z0-9_]+/g) ?? []);

test('every metric the dashboard queries exists', async () => {
  const { all } = await exportedNames();
  const dashboard = JSON.parse(read('docs/grafana-dashboard.json')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  assert.ok(dashboard.panels.length >= 10);
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, `${panel.title} has a query`);
    for (const { expr } of panel.targets) {
      const names = namesIn(expr);
      assert.ok(names.size > 0, `${panel.title}: ${expr} names a metric`);
      for (const name of names) assert.ok(all.has(name), `${panel.title}: no metric ${name}`);
    }
  }
});

test('README and docs/operations.md name exactly metrics that exist, and document each of ours', async () => {
  const { ours, all } = await exportedNames();
  for (const file of ['README.md', 'docs/operations.md']) {
    const named = namesIn(read(file));
    for (const name of named)
      assert.ok(all.has(name), `${file} names ${name}, which does not exist`);
    for (const name of ours) assert.ok(named.has(name), `${file} does not document ${name}`);
  }
});
