/**
 * connChange's second source: the clients of an adapter service whose buy has spent its quota of
 * the current period are suspended (`stop`), and given back (`start`) when a new period renews it.
 * Looked at again with every routing state (the session event that spends a quota changes the
 * routing version, in whichever process it was recorded) and when the earliest period of a
 * suspended client ends.
 */
import type { Clock } from '../clock.ts';
import { limitsResolver } from '../limits/limits.ts';
import { quotaStanding } from '../limits/over-quota.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { type ConnCommand, clientKeysOf, type RoutingFeed } from './client-watch.ts';

// How soon to look again when a period should have ended but the clock says otherwise, and the
// longest a timer waits (a month is past what setTimeout can wait).
const RECHECK_MS = 1000;
const LONGEST_WAIT_MS = 3_600_000;

export function watchSuspended(options: {
  store: Store;
  routing: RoutingFeed;
  clock: Clock;
  log: Logger;
  publicPath: string;
  notify(clientKey: string, command: ConnCommand): void;
}): () => void {
  const { store, routing, clock, log, publicPath, notify } = options;
  let suspended = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  /** The service's clients over quota now, and when the first of their periods ends. */
  async function overQuota(): Promise<{ keys: Set<string>; renewsAt: number | undefined }> {
    const state = routing.current();
    const limitsOf = limitsResolver(state.limits);
    const limited = state.buys.flatMap((buy) => {
      const quota = buy.publicPath === publicPath && buy.access && limitsOf(buy)?.quota;
      return quota && buy.access ? [{ buy, clientKey: buy.access.clientKey, quota }] : [];
    });
    const keys = new Set<string>();
    if (limited.length === 0) return { keys, renewsAt: undefined };
    const counters = new Map((await store.listLimitCounters()).map((c) => [c.apiKey, c]));
    const now = clock.now();
    let renewsAt: number | undefined;
    for (const { buy, clientKey, quota } of limited) {
      const { over, endsAt } = quotaStanding(quota, counters.get(buy.apiKey), now);
      if (!over) continue;
      keys.add(clientKey);
      if (endsAt !== undefined) renewsAt = Math.min(renewsAt ?? endsAt, endsAt);
    }
    return { keys, renewsAt };
  }

  async function look(): Promise<void> {
    if (stopped) return;
    let found: Awaited<ReturnType<typeof overQuota>>;
    try {
      found = await overQuota();
    } catch (error) {
      // The store is out of reach: look again soon, so that a period's end is not missed.
      log.warn({ err: error, service: publicPath }, 'cannot read quota counters');
      arm(RECHECK_MS);
      return;
    }
    if (stopped) return;
    const inForce = clientKeysOf(routing.current(), publicPath);
    for (const key of found.keys) if (!suspended.has(key)) notify(key, 'stop');
    for (const key of suspended) if (!found.keys.has(key) && inForce.has(key)) notify(key, 'start');
    suspended = found.keys;
    if (found.renewsAt === undefined) {
      clearTimeout(timer);
      timer = undefined;
    } else {
      const wait = found.renewsAt - clock.now();
      arm(wait > 0 ? Math.min(wait, LONGEST_WAIT_MS) : RECHECK_MS);
    }
  }

  function arm(ms: number): void {
    clearTimeout(timer);
    timer = setTimeout(schedule, ms);
    timer.unref();
  }

  function schedule(): void {
    // One look at a time; one that failed does not stop the next.
    running = running
      .then(look)
      .catch((error: unknown) =>
        log.warn({ err: error, service: publicPath }, 'quota watch failed'),
      );
  }

  schedule();
  const unsubscribe = routing.onReload(schedule);
  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
  };
}
