/**
 * When the tmf4 report cycle runs: at start, just after each window closes, soon after a purchase
 * ends (its open window goes out at once), and again after a failed cycle, waiting twice as long
 * each time (up to a maximum) but never past the next window's close. One run at a time.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { TmfCycleResult, TmfUsageReporter } from './usage-reporter.ts';

export interface TmfUsageSchedule {
  /** A run as soon as the current one (if any) is done. */
  runSoon(): void;
  /** Runs now (after the current one) and answers its result. */
  runNow(): Promise<TmfCycleResult>;
  stop(): Promise<void>;
}

// A commit still in flight when a window closes lands in it within this time.
const AFTER_CLOSE_MS = 1000;
const LOCK_RETRY_MS = 250;

export function startTmfUsageSchedule(options: {
  reporter: TmfUsageReporter;
  windowMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  clock: Clock;
  log: Logger;
  /** Every run's result, when it ends (metrics). */
  onResult?(result: TmfCycleResult, endedAt: Date): void;
}): TmfUsageSchedule {
  const { clock, log } = options;
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let retryMs = options.retryInitialMs;
  let stopped = false;

  const untilNextClose = () => {
    const now = clock.now();
    return options.windowMs - (now % options.windowMs) + AFTER_CLOSE_MS;
  };
  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };
  const cycle = async (): Promise<TmfCycleResult> => {
    let result: TmfCycleResult;
    try {
      result = await options.reporter.run();
    } catch (error) {
      const records = { accepted: 0, rejected: 0, failed: 0 };
      result = { records, failures: [(error as Error).message], skipped: false };
    }
    options.onResult?.(result, new Date(clock.now()));
    if (result.skipped) {
      // Another cycle (another process's, or the admin API's) holds the lock for a moment.
      schedule(Math.min(LOCK_RETRY_MS, untilNextClose()));
    } else if (result.failures.length > 0) {
      log.warn(
        { failures: result.failures, retryInMs: retryMs },
        'usage records not all sent; retrying',
      );
      schedule(Math.min(retryMs, untilNextClose()));
      retryMs = Math.min(retryMs * 2, options.retryMaxMs);
    } else {
      retryMs = options.retryInitialMs;
      schedule(untilNextClose());
    }
    return result;
  };
  const run = () => {
    const next = chain.then(cycle);
    chain = next.catch(() => {});
    return next;
  };
  void run();
  return {
    runSoon: () => void run(),
    runNow: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await chain;
    },
  };
}
