import type { Store } from '../store/store.ts';
import { needsAttention } from '../usage/needs-attention.ts';
import type { StoreFigures } from './metrics.ts';
import type { StoreProbe } from './store-probe.ts';

/**
 * The store gauges' figures, read at scrape time from the store every proxy shares. While the
 * store cannot be read the last figures stand, beside `up` 0.
 */
export function storeFigures(
  store: Store,
  probe: StoreProbe,
  units: readonly string[],
): () => Promise<StoreFigures> {
  let last: Omit<StoreFigures, 'up'> = { pending: new Map(), outboxRecords: 0, rejectedBuys: 0 };
  return async () => {
    const up = await probe.check();
    if (!up) return { up, ...last };
    try {
      const pending = new Map(units.map((unit) => [unit, 0]));
      let outboxRecords = 0;
      let rejectedBuys = 0;
      for (const buy of await store.listUsage()) {
        pending.set(buy.unit, (pending.get(buy.unit) ?? 0) + buy.pending);
        if (buy.outbox) outboxRecords++;
        if (needsAttention(buy)) rejectedBuys++;
      }
      last = { pending, outboxRecords, rejectedBuys };
      return { up, ...last };
    } catch {
      return { up: false, ...last };
    }
  };
}
