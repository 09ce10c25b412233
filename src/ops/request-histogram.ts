/**
 * A histogram with one label, for the durations observed on every request. prom-client's
 * Histogram hashes and validates the labels on every observe() (about 1 µs); this one finds the
 * label's counts once and adds to typed arrays, and hands prom-client the same metric JSON its
 * own histograms give, so the registry formats it and the cluster aggregator sums it as theirs.
 */
import type { Registry } from 'prom-client';

interface Counts {
  /** Per bucket, not cumulative; the last one is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

export interface Observer {
  observe(value: number): void;
}

type Value = { labels: Record<string, string | number>; value: number; metricName: string };

export class RequestHistogram {
  private readonly children = new Map<string, Counts & Observer>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    // prom-client's registry takes any object with its metric methods.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  readonly type = 'histogram';
  readonly aggregator = 'sum';

  /** The observer of one label value; keep it rather than asking again. */
  labels(value: string): Observer {
    let child = this.children.get(value);
    if (!child) {
      const bounds = this.upperBounds;
      const counts: Counts = {
        buckets: new Float64Array(bounds.length + 1),
        sum: 0,
        count: 0,
      };
      child = Object.assign(counts, {
        observe(seconds: number) {
          let i = 0;
          while (i < bounds.length && seconds > (bounds[i] as number)) i++;
          counts.buckets[i] = (counts.buckets[i] ?? 0) + 1;
          counts.sum += seconds;
          counts.count++;
        },
      });
      this.children.set(value, child);
    }
    return child;
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Value[];
  }> {
    const values: Value[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [labelValue, counts] of this.children) {
      const labels = { [this.labelName]: labelValue };
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += counts.buckets[i] ?? 0;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: bucketName });
      });
      values.push({
        labels: { le: '+Inf', ...labels },
        value: counts.count,
        metricName: bucketName,
      });
      values.push({ labels, value: counts.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: counts.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  reset(): void {
    for (const counts of this.children.values()) {
      counts.buckets.fill(0);
      counts.sum = 0;
      counts.count = 0;
    }
  }
}
