/**
 * The tmf4 report cycle: for every purchase of the TMF v4 marketplace, each closed window (every
 * window, once access ended) goes out as one TMF635 v4 usage record, exactly once: taken into the
 * outbox first, marked as being sent, sent, and completed only on the marketplace's yes. After an
 * unknown outcome (or a crash while sending) a POSTed record is looked for before it is sent
 * again; a PUT one is sent again as it is (409: the marketplace has it). One cycle runs at a time
 * across processes (the report lock).
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ReportableBuy, Store } from '../store/store.ts';
import { ReportLockLost, reportLock } from '../usage/report-lock.ts';
import { type MarketplaceBuy, usageRecordV4 } from './usage-record-v4.ts';
import type { UsageSender } from './usage-sender.ts';

export interface TmfCycleResult {
  /** Records of this cycle: taken by the marketplace, refused by it, or with no answer. */
  records: { accepted: number; rejected: number; failed: number };
  failures: string[];
  /** Another process ran the cycle. */
  skipped: boolean;
}

export interface TmfUsageReporter {
  run(): Promise<TmfCycleResult>;
}

type ReporterStore = Pick<
  Store,
  | 'listUsage'
  | 'prepareWindowRecord'
  | 'completeRecord'
  | 'setReportStatus'
  | 'acquireLock'
  | 'releaseLock'
  | 'lockOwner'
>;

const LOCK_TTL_MS = 60_000;

export function createTmfUsageReporter(options: {
  store: ReporterStore;
  sender: UsageSender;
  seller: string;
  windowMs: number;
  clock: Clock;
  log: Logger;
}): TmfUsageReporter {
  const { store, sender, clock, log } = options;
  const lock = reportLock(store, LOCK_TTL_MS, log);

  /** Sends the buy's due records in order; stops at its first failure. */
  async function reportBuy(buy: ReportableBuy & MarketplaceBuy, result: TmfCycleResult) {
    const now = clock.now();
    const closedBefore = buy.revoked ? Number.POSITIVE_INFINITY : now - (now % options.windowMs);
    // The buy's outbox record may have been sent before without an answer (or by a process that died).
    let uncertain = buy.reportStatus?.state === 'unknown' || buy.outbox !== undefined;
    for (;;) {
      await lock.renew();
      const prepared = await store.prepareWindowRecord(buy.apiKey, closedBefore);
      if (!prepared) return;
      const record = usageRecordV4(buy, prepared, options.seller);
      const attempt = new Date(clock.now()).toISOString();
      const status = (state: 'unknown' | 'rejected', message: string) =>
        store.setReportStatus(buy.apiKey, prepared.correlationNumber, {
          state,
          message,
          since: buy.reportStatus?.since ?? attempt,
          lastAttempt: attempt,
        });
      let outcome: Awaited<ReturnType<UsageSender['send']>>;
      if (!sender.put && uncertain && (await sender.find(record))) {
        outcome = { outcome: 'done' };
      } else {
        // Written down before sending: a crash now leaves a record to look for, not to resend.
        await status('unknown', 'sent; no answer yet');
        outcome = await sender.send(record);
      }
      if (outcome.outcome === 'done') {
        await store.completeRecord(buy.apiKey, prepared.correlationNumber);
        result.records.accepted++;
        log.info(
          {
            productId: buy.productId,
            unit: buy.unit,
            window: new Date(prepared.window).toISOString(),
            value: prepared.value,
            id: record.id,
          },
          'usage record sent',
        );
        uncertain = false;
        continue;
      }
      const refused = outcome.outcome === 'refused';
      await status(refused ? 'rejected' : 'unknown', outcome.message);
      result.records[refused ? 'rejected' : 'failed']++;
      result.failures.push(`${buy.productId}: ${outcome.message}`);
      return;
    }
  }

  return {
    async run() {
      const records = { accepted: 0, rejected: 0, failed: 0 };
      const result: TmfCycleResult = { records, failures: [], skipped: false };
      if (!(await lock.take())) return { ...result, skipped: true };
      try {
        const buys = (await store.listUsage()).filter(
          (buy): buy is ReportableBuy & MarketplaceBuy => buy.terms !== undefined,
        );
        for (const buy of buys) {
          try {
            await reportBuy(buy, result);
          } catch (error) {
            if (error instanceof ReportLockLost) throw error;
            result.failures.push(`${buy.productId}: ${(error as Error).message}`);
          }
        }
      } finally {
        await lock.release();
      }
      return result;
    },
  };
}
