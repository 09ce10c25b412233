import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { RoutingState, Store } from '../store/store.ts';
import { RoutingTable } from './routing-table.ts';

export interface RoutingSync {
  readonly table: RoutingTable;
  /** Reloads now if the store changed (the admin API calls this after its own writes). */
  refresh(): Promise<void>;
  /**
   * Before a refusal the table in memory may be the reason for: resolves once the store's version
   * was read after this call (and the table reloaded if it changed); the caller compares `table`
   * with the one it decided by. Callers meanwhile share one read, and reads start at most every
   * `recheckGapMs`, so a flood of refused requests costs the store a bounded number of reads.
   */
  recheck(): Promise<void>;
  /** Calls `listener` with each routing state loaded from now on; answers the function that stops. */
  onReload(listener: (state: RoutingState) => void): () => void;
  stop(): Promise<void>;
}

/**
 * Keeps the in-memory routing table in step with the store. A cheap version read every interval
 * notices changes made by any process (CLI, another proxy, the admin API); only then is the whole
 * state reloaded.
 */
export async function startRoutingSync(
  store: Store,
  log: Logger,
  options: { clock: Clock; intervalMs?: number; recheckGapMs?: number },
): Promise<RoutingSync> {
  const { clock, intervalMs = 250, recheckGapMs = 20 } = options;
  let version = await store.routingVersion();
  let table = new RoutingTable(await store.loadRoutingState());
  let failing = false;
  let running: Promise<void> | undefined;
  const listeners = new Set<(state: RoutingState) => void>();

  const reloadIfChanged = async () => {
    try {
      const current = await store.routingVersion();
      if (current !== version) {
        table = new RoutingTable(await store.loadRoutingState());
        version = current;
        log.debug({ version }, 'routing state reloaded');
        for (const listener of listeners) {
          try {
            listener(table.state);
          } catch (error) {
            log.error({ err: error }, 'a routing change listener failed');
          }
        }
      }
      if (failing) log.info('routing state readable again');
      failing = false;
    } catch (error) {
      if (!failing) log.warn({ err: error }, 'cannot read routing state; serving the last one');
      failing = true;
    }
  };
  let again: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (!running) {
      running = reloadIfChanged().finally(() => {
        running = undefined;
      });
      return running;
    }
    // The reload under way may have read the store before the caller's change: one more after
    // it, shared by every caller meanwhile.
    again ??= running.then(() => {
      again = undefined;
      return refresh();
    });
    return again;
  };
  let recheckStartedAt = Number.NEGATIVE_INFINITY;
  let nextRecheck: Promise<void> | undefined;
  const recheck = (): Promise<void> => {
    nextRecheck ??= new Promise<void>((resolve) => {
      const wait = recheckStartedAt + recheckGapMs - clock.monotonic();
      if (wait <= 0) resolve();
      else setTimeout(resolve, wait).unref();
    }).then(async () => {
      // Callers from now on wait for the next read: this one may have started before their change.
      nextRecheck = undefined;
      recheckStartedAt = clock.monotonic();
      await refresh();
    });
    return nextRecheck;
  };
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  const unwatch = await store.watchChanges(() => void refresh());

  return {
    get table() {
      return table;
    },
    refresh,
    recheck,
    onReload: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: async () => {
      clearInterval(timer);
      await unwatch();
    },
  };
}
