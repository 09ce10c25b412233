import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { RoutingTable } from './routing-table.ts';

export interface RoutingSync {
  readonly table: RoutingTable;
  /** Reloads now if the store changed (the admin API calls this after its own writes). */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Keeps the in-memory routing table in step with the store. A cheap version read every interval
 * notices changes made by any process (CLI, another proxy, the admin API); only then is the whole
 * state reloaded.
 */
export async function startRoutingSync(
  store: Store,
  log: Logger,
  intervalMs = 250,
): Promise<RoutingSync> {
  let version = await store.routingVersion();
  let table = new RoutingTable(await store.loadRoutingState());
  let failing = false;
  let running: Promise<void> | undefined;

  const reloadIfChanged = async () => {
    try {
      const current = await store.routingVersion();
      if (current !== version) {
        table = new RoutingTable(await store.loadRoutingState());
        version = current;
        log.debug({ version }, 'routing state reloaded');
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
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();

  return {
    get table() {
      return table;
    },
    refresh,
    stop: () => clearInterval(timer),
  };
}
