/**
 * prom-client's default process metrics, named with `prefix`: each of prom-client's own but its
 * GC histogram, which gc-durations.ts keeps under the same name, labels and buckets for less.
 */
import { createRequire } from 'node:module';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { trackGcDurations } from './gc-durations.ts';

type Collect = (
  registry: Registry,
  config: { prefix: string; eventLoopMonitoringPrecision: number },
) => void;
// prom-client keeps each default metric in a module of its own, named as in its metricsList.
const load = createRequire(import.meta.url);

export function collectProcessMetrics(registry: Registry, prefix: string): { stop(): void } {
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'gc') continue;
    const collect = load(`prom-client/lib/metrics/${name}`) as Collect;
    // The configuration collectDefaultMetrics passes them.
    collect(registry, { eventLoopMonitoringPrecision: 10, prefix });
  }
  return trackGcDurations(registry, `${prefix}nodejs_gc_duration_seconds`);
}
