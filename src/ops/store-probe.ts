import type { Clock } from '../clock.ts';
import type { Store } from '../store/store.ts';

export interface StoreProbe {
  /** Whether the store could be written just now; probes at most once per `maxAgeMs`. */
  check(): Promise<boolean>;
}

/**
 * The store's probe shared by readiness and `store_up`: a load balancer probing every second and
 * Prometheus scraping cost one probe between them, and concurrent callers share it.
 */
export function createStoreProbe(store: Store, clock: Clock, maxAgeMs = 1000): StoreProbe {
  let last: { at: number; up: boolean } | undefined;
  let probing: Promise<boolean> | undefined;
  return {
    check() {
      if (last && clock.monotonic() - last.at < maxAgeMs) return Promise.resolve(last.up);
      probing ??= store
        .probe()
        .then(
          () => true,
          () => false,
        )
        .then((up) => {
          last = { at: clock.monotonic(), up };
          probing = undefined;
          return up;
        });
      return probing;
    },
  };
}
