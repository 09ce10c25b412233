import { type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from '../log.ts';
import type { CycleResult, ReportCycle } from './report-cycle.ts';

export interface UsageScheduler {
  /** Runs a cycle now (or joins the one running) and answers its result. */
  runNow(): Promise<CycleResult>;
  stop(): Promise<void>;
}

export interface UsageSchedulerOptions {
  cycle: ReportCycle;
  schedule: string;
  retryInitialMs: number;
  retryMaxMs: number;
  log: Logger;
}

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

  const settle = (result: CycleResult) => {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    if (stopped) return;
    if (result.failures.length === 0 && result.skipped !== 'locked') {
      retryDelay = options.retryInitialMs;
      return;
    }
    if (result.failures.length > 0) {
      log.warn(
        { failures: result.failures, retryInMs: retryDelay },
        'usage report incomplete; retrying',
      );
    }
    retryTimer = setTimeout(() => void runNow(), retryDelay);
    retryTimer.unref();
    retryDelay = Math.min(retryDelay * 2, options.retryMaxMs);
  };

  function runNow(): Promise<CycleResult> {
    running ??= cycle
      .run()
      .catch((error: unknown): CycleResult => {
        log.error({ err: error }, 'usage report cycle failed');
        return { sent: [], failures: [{ subject: 'cycle', error: (error as Error).message }] };
      })
      .then((result) => {
        settle(result);
        return result;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const task: ScheduledTask = schedule(options.schedule, () => void runNow(), { noOverlap: true });
  void runNow();

  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      await task.destroy();
      await running;
    },
  };
}
