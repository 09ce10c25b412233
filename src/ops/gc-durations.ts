/**
 * `nodejs_gc_duration_seconds{kind}`, the histogram of prom-client's default metrics (same name,
 * help, labels and buckets), kept by an observer of our own that adds every entry to typed arrays
 * (request-histogram.ts). prom-client's hashes a new label object per collection, and at the 1 MB
 * semi-space of `npm start` a scavenge comes every forty-odd requests: its observer cost 3.7 % of
 * the instructions of a small request, this one 2.1 %, nearly all of it Node's own work for each
 * entry (bench/README.md, item 15).
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { RequestHistogram } from './request-histogram.ts';

// prom-client's buckets and kinds for this metric.
const BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Starts observing collections into `name` of `registry`; `stop` ends it. */
export function trackGcDurations(registry: Registry, name: string): { stop(): void } {
  const histogram = new RequestHistogram(
    name,
    'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    'kind',
    BUCKETS,
    registry,
  );
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      histogram.labels(KINDS[detail?.kind ?? -1] ?? 'unknown').observe(entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
    },
  };
}
