import { type ScheduledTask, schedule } from 'node-cron';
import { type Clock, systemClock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type CycleResult, emptyCycleResult, type ReportCycle } from './report-cycle.ts';

export interface UsageScheduler {
  /**
   * Runs a cycle now (or joins the one running) and answers its result: an operator's run, so
   * records the marketplace rejected are sent again (its retries do not).
   */
  runNow(): Promise<CycleResult>;
  /**
   * Runs a cycle now as part of the current scheduled one (a buy ended and its last usage should
   * go out): records the marketplace rejected and that were sent in this scheduled cycle wait for
   * the next one.
   */
  runWithinSchedule(): Promise<CycleResult>;
  stop(): Promise<void>;
}

export interface UsageSchedulerOptions {
  cycle: ReportCycle;
  schedule: string;
  retryInitialMs: number;
  retryMaxMs: number;
  log: Logger;
  clock?: Clock;
  /** Every run's result, when it ends (metrics). */
  onResult?(result: CycleResult, endedAt: Date): void;
}

/**
 * Start of the second a scheduled run belongs to: proxies sharing a store fire the same cron tick
 * a few milliseconds apart, and the later one must see the earlier one's sends as this tick's.
 */
const slotOf = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

/**
 * Runs report cycles at start, on the cron schedule, on demand, and after a failure again with
 * exponential backoff, never two at once in this process.
 */
export function startUsageScheduler(options: UsageSchedulerOptions): UsageScheduler {
  const { cycle, log } = options;
  let running: Promise<CycleResult> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = options.retryInitialMs;
  let stopped = false;

  const clock = options.clock ?? systemClock;
  const now = () => new Date(clock.now());

  const settle = (result: CycleResult, scheduledAt: Date) => {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    if (stopped) return;
    const elsewhere = result.skipped === 'locked' || result.interrupted === 'lock-lost';
    if (result.failures.length === 0 && !elsewhere) {
      retryDelay = options.retryInitialMs;
      return;
    }
    if (result.failures.length > 0) {
      log.warn(
        { failures: result.failures, retryInMs: retryDelay },
        'usage report incomplete; retrying',
      );
    }
    // A retry belongs to the scheduled cycle it retries.
    retryTimer = setTimeout(() => void start(scheduledAt), retryDelay);
    retryTimer.unref();
    retryDelay = Math.min(retryDelay * 2, options.retryMaxMs);
  };

  function start(scheduledAt: Date | undefined): Promise<CycleResult> {
    // Retries of an operator's run belong to the time it started.
    const retrySlot = scheduledAt ?? now();
    running ??= cycle
      .run(scheduledAt ? { scheduledAt } : {})
      .catch((error: unknown): CycleResult => {
        log.error({ err: error }, 'usage report cycle failed');
        const result = emptyCycleResult();
        result.failures.push({ subject: 'cycle', error: (error as Error).message });
        return result;
      })
      .then((result) => {
        options.onResult?.(result, now());
        settle(result, retrySlot);
        return result;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  let currentSlot = slotOf(now());
  const task: ScheduledTask = schedule(
    options.schedule,
    () => {
      currentSlot = slotOf(now());
      void start(currentSlot);
    },
    { noOverlap: true },
  );
  void start(currentSlot);

  return {
    runNow: () => start(undefined),
    runWithinSchedule: () => start(currentSlot),
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      await task.destroy();
      await running;
    },
  };
}
