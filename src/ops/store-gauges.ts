import type { Clock } from '../clock.ts';
import { countBuysOverQuota } from '../limits/over-quota.ts';
import type { Store } from '../store/store.ts';
import { needsAttention } from '../usage/needs-attention.ts';
import type { DefineGauge } from './metrics.ts';
import type { StoreProbe } from './store-probe.ts';

/**
 * The store gauges' figures, read at scrape time from the store every proxy shares. While the
 * store cannot be read the last figures stand, beside `up` 0.
 */
export function storeFigures(
  store: Store,
  probe: StoreProbe,
  units: readonly string[],
  clock: Clock,
): () => Promise<StoreFigures> {
  let last: Omit<StoreFigures, 'up'> = {
    pending: new Map(),
    outboxRecords: 0,
    rejectedBuys: 0,
    buysOverQuota: 0,
  };
  return async () => {
    const up = await probe.check();
    if (!up) return { up, ...last };
    try {
      const pending = new Map(units.map((unit) => [unit, 0]));
      let outboxRecords = 0;
      let rejectedBuys = 0;
      const usage = await store.listUsage();
      for (const buy of usage) {
        pending.set(buy.unit, (pending.get(buy.unit) ?? 0) + buy.pending);
        if (buy.outbox) outboxRecords++;
        if (needsAttention(buy)) rejectedBuys++;
      }
      // Only a store where limits were set has counters worth reading; the buys in force are
      // those of the usage just read that are not revoked.
      const limits = await store.listLimits();
      const buysOverQuota =
        limits.length === 0
          ? 0
          : countBuysOverQuota(
              limits,
              usage.filter((buy) => !buy.revoked),
              await store.listLimitCounters(),
              clock.now(),
            );
      last = { pending, outboxRecords, rejectedBuys, buysOverQuota };
      return { up, ...last };
    } catch {
      return { up: false, ...last };
    }
  };
}

/**
 * What `collect` reads from the store at scrape time, so that every proxy on a shared store tells
 * the same story.
 */
export interface StoreFigures {
  up: boolean;
  /** Metered, not yet in a record, per unit. */
  pending: ReadonlyMap<string, number>;
  outboxRecords: number;
  rejectedBuys: number;
  /** Buys that have spent their quota of the current period. */
  buysOverQuota: number;
}

/** The gauges read from the store when scraped: one store read per scrape, shared by them all. */
export function registerStoreGauges(read: () => Promise<StoreFigures>, gauge: DefineGauge): void {
  let reading: Promise<StoreFigures> | undefined;
  const figures = () => {
    reading ??= read().finally(() => {
      reading = undefined;
    });
    return reading;
  };
  // Every proxy on a shared store reads the same figures: workers' values are not summed.
  gauge(
    'store_up',
    '1 while the store can be reached and written, else 0',
    'min',
    async function () {
      this.set((await figures()).up ? 1 : 0);
    },
  );
  gauge(
    'usage_pending',
    'Usage metered and committed, not yet in a usage record, by unit',
    'max',
    async function () {
      const { pending } = await figures();
      this.reset();
      for (const [unit, amount] of pending) this.set({ unit }, amount);
    },
    ['unit'],
  );
  gauge(
    'outbox_records',
    'Usage records written down and waiting for the marketplace',
    'max',
    async function () {
      this.set((await figures()).outboxRecords);
    },
  );
  gauge(
    'buys_over_quota',
    'Buys that have spent their quota of the current period (refused until it renews)',
    'max',
    async function () {
      this.set((await figures()).buysOverQuota);
    },
  );
  gauge(
    'buys_rejected',
    'Buys whose record the marketplace rejected or is out of step with',
    'max',
    async function () {
      this.set((await figures()).rejectedBuys);
    },
  );
}
