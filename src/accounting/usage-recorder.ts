import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Store, UsageIncrement } from '../store/store.ts';

export interface UsageRecorderOptions {
  store: Store;
  log: Logger;
  /** First delay before retrying a failed commit; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Told of every group commit and of every amount it committed. */
  metrics?: RecorderMetrics | undefined;
  clock?: Clock;
  /**
   * tmf4 mode: milliseconds of a usage window; each batch then names the window of its commit, so
   * that the store keeps a marketplace buy's usage per window.
   */
  windowMs?: number | undefined;
}

export interface RecorderMetrics {
  storeCommit(seconds: number): void;
  metered(unit: string, amount: number): void;
  /** Told how to read the increments not committed yet, for a gauge read at scrape time. */
  watchUncommitted?(read: () => number): void;
}

export interface UsageRecorder {
  /**
   * Resolves once the amount is committed to the store. Never rejects: a failed commit is retried.
   * `unit` is what the amount counts, for metrics; `quotaPeriod`, the buy's quota period the
   * amount is spent in (a quota that did not reserve it at admission).
   */
  record(apiKey: string, amount: number, unit?: string, quotaPeriod?: string): Promise<void>;
  /** False while commits are failing: the proxy then refuses new metered requests. */
  readonly healthy: boolean;
  /** Increments recorded and not committed yet. */
  readonly uncommitted: number;
  /** Resolves when everything recorded so far is committed. */
  drain(): Promise<void>;
  /** Stops retrying; anything still uncommitted is reported by the returned count. */
  close(): Promise<number>;
}

interface Waiter {
  increment: UsageIncrement;
  unit: string;
  resolve: () => void;
}

/**
 * One increment per buy: a batch is mostly many calls of the same few buys, and the store then does
 * one update per buy rather than one per request.
 */
function sumPerBuy(batch: readonly Waiter[]): UsageIncrement[] {
  const sums = new Map<string, UsageIncrement>();
  for (const { increment } of batch) {
    const { apiKey, quotaPeriod } = increment;
    const key = quotaPeriod === undefined ? apiKey : `${apiKey}\n${quotaPeriod}`;
    const sum = sums.get(key);
    if (sum) sum.amount += increment.amount;
    else sums.set(key, { ...increment });
  }
  return [...sums.values()];
}

/**
 * Group commit: every increment recorded within one event-loop turn (and while the previous commit
 * runs) goes to the store in one atomic batch, so holding each response until its usage is stored
 * costs one store round trip per batch rather than per request.
 */
export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const { store, log, metrics } = options;
  const clock = options.clock ?? systemClock;
  const firstDelay = options.retryDelayMs ?? 50;
  const maxDelay = options.maxRetryDelayMs ?? 2000;
  // Batches are committed one at a time, numbered in order, under an id unique to this process.
  const writer = randomUUID();
  let batches = 0;
  let queue: Waiter[] = [];
  let inFlight = 0;
  let committing: Promise<void> | undefined;
  let scheduled = false;
  let healthy = true;
  let closed = false;
  let idle: (() => void)[] = [];

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

  async function commit(batch: Waiter[]): Promise<void> {
    let delay = firstDelay;
    // The same number on every attempt: a retry after a lost reply must not add the batch twice.
    const seq = ++batches;
    const increments = sumPerBuy(batch);
    // Fixed with the batch: a retry later counts it in the window it was first committed in.
    const at = clock.now();
    const usageBatch = options.windowMs
      ? {
          writer,
          seq,
          window: { start: at - (at % options.windowMs), at, length: options.windowMs },
        }
      : { writer, seq };
    while (!closed) {
      try {
        const started = clock.monotonic();
        await store.addUsage(increments, usageBatch);
        if (!healthy) log.info('usage commits succeed again');
        healthy = true;
        if (metrics) {
          metrics.storeCommit((clock.monotonic() - started) / 1000);
          for (const { unit, increment } of batch) metrics.metered(unit, increment.amount);
        }
        for (const waiter of batch) waiter.resolve();
        return;
      } catch (error) {
        if (healthy) log.error({ err: error }, 'cannot commit usage; retrying');
        healthy = false;
        await sleep(delay);
        delay = Math.min(delay * 2, maxDelay);
      }
    }
    // Closed while the store was down: these waiters stay unresolved and are counted by close().
    queue = batch.concat(queue);
  }

  function flush(): void {
    scheduled = false;
    if (committing || queue.length === 0) return;
    const batch = queue;
    queue = [];
    inFlight = batch.length;
    committing = commit(batch).finally(() => {
      committing = undefined;
      inFlight = 0;
      if (queue.length > 0 && !closed) flush();
      else if (queue.length === 0) for (const resolve of idle.splice(0)) resolve();
    });
  }

  metrics?.watchUncommitted?.(() => queue.length + inFlight);
  return {
    record(apiKey, amount, unit = '', quotaPeriod) {
      return new Promise<void>((resolve) => {
        const increment =
          quotaPeriod === undefined ? { apiKey, amount } : { apiKey, amount, quotaPeriod };
        queue.push({ increment, unit, resolve });
        if (!scheduled && !committing) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    get healthy() {
      return healthy;
    },
    get uncommitted() {
      return queue.length + inFlight;
    },
    drain() {
      if (queue.length === 0 && !committing) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    async close() {
      closed = true;
      await committing;
      const lost = queue.length;
      idle = [];
      return lost;
    },
  };
}
