import type { AccountingModule } from '../accounting/module.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ReportableBuy, ReportStatus, Store } from '../store/store.ts';
import { type KeySession, openKeySession } from './key-session.ts';
import { judgeRecordAnswer } from './record-verdict.ts';
import { ReportLockLost, reportLock } from './report-lock.ts';
import type { UsageApi } from './usage-api.ts';
import { usageRecord } from './usage-record.ts';

export { REPORT_LOCK } from './report-lock.ts';

export interface SentRecord {
  apiKey: string;
  orderId: string;
  productId: string;
  unit: string;
  correlationNumber: number;
  value: number;
  date: string;
}

/** A buy whose record the marketplace will not take as it stands: an operator has to look. */
export interface HeldBuy {
  orderId: string;
  productId: string;
  unit: string;
  correlationNumber: number;
  state: 'rejected' | 'out-of-step';
  message: string;
  since: string;
  expected?: number;
}

export interface CycleResult {
  /** Why nothing was attempted, if so. */
  skipped?: 'locked' | 'no-key';
  /** Why the cycle stopped before the end: another process took over its lock. */
  interrupted?: 'lock-lost';
  sent: SentRecord[];
  /** What could not be sent and is retried with backoff (unknown outcomes, refused keys). */
  failures: { subject: string; error: string }[];
  /** Rejected (resent once per scheduled cycle) or out of step (not sent until resumed). */
  held: HeldBuy[];
  /** The marketplace's answers to the records sent in this run. */
  records: RecordCounts;
}

export interface RecordCounts {
  accepted: number;
  /** Refused as they stand, or out of step. */
  rejected: number;
  /** No answer, or every key refused. */
  failed: number;
}

export const emptyCycleResult = (): CycleResult => ({
  sent: [],
  failures: [],
  held: [],
  records: { accepted: 0, rejected: 0, failed: 0 },
});

export interface ReportCycleOptions {
  store: Store;
  modules: ReadonlyMap<string, AccountingModule>;
  usageApi: UsageApi;
  usageApiUrl: string;
  log: Logger;
  clock?: Clock;
  /** How long a cycle may hold the lock without renewing it (a crashed holder's lock expires). */
  lockTtlMs?: number;
  /** At most this many records per buy and cycle: a backlog drains over several cycles. */
  recordsPerBuy?: number;
  /**
   * tmf4 mode: purchases come from the TMF v4 marketplace and are reported by src/marketplace/;
   * this cycle then only sends what buys of the admin API have left, and says nothing without.
   */
  leftoversOnly?: boolean;
}

export interface CycleRun {
  /**
   * The scheduled time this run belongs to. A record the marketplace rejected is resent only if
   * it was not sent since then, so retries of a cycle do not resend it. Absent for a run an
   * operator asked for, which resends it.
   */
  scheduledAt?: Date;
}

export interface ReportCycle {
  run(options?: CycleRun): Promise<CycleResult>;
}

/** Every key was refused in this cycle: nothing can be sent until the marketplace commits one. */
class KeysRefused extends Error {}

const heldBuy = (buy: ReportableBuy, status: ReportStatus): HeldBuy => ({
  orderId: buy.orderId,
  productId: buy.productId,
  unit: buy.unit,
  correlationNumber: buy.correlationNumber,
  state: status.state === 'out-of-step' ? 'out-of-step' : 'rejected',
  message: status.message,
  since: status.since,
  ...(status.expected === undefined ? {} : { expected: status.expected }),
});

/**
 * One report cycle: registers missing usage specifications, then sends each buy's pending usage as
 * one TMF635 record through the store's outbox, and reads each answer as the marketplace means it
 * (marketplace-contract §3.3). Runs under a store lock, so with several proxies on one store one
 * cycle runs at a time.
 */
export function createReportCycle(options: ReportCycleOptions): ReportCycle {
  const { store, modules, usageApi, log } = options;
  const clock = options.clock ?? systemClock;
  const now = () => new Date(clock.now());
  const lock = reportLock(store, options.lockTtlMs ?? 5 * 60_000, log);
  let toldNoKey = false;

  async function specificationHrefs(
    keys: KeySession,
    result: CycleResult,
  ): Promise<Map<string, string>> {
    const hrefs = new Map<string, string>();
    const units = new Set([...modules.keys(), ...(await store.listUsage()).map((b) => b.unit)]);
    for (const unit of units) {
      const stored = await store.getSpecificationHref(unit);
      if (stored) {
        hrefs.set(unit, stored);
        continue;
      }
      const module = modules.get(unit);
      if (!module) continue;
      await lock.renew();
      const answer = await keys.send((key) =>
        usageApi.registerSpecification(module.usageSpecification, key),
      );
      if (answer.outcome === 'key-refused') throw new KeysRefused(answer.message);
      if (answer.outcome === 'created') {
        await store.setSpecificationHref(unit, answer.value);
        hrefs.set(unit, answer.value);
        log.info({ unit, href: answer.value }, 'usage specification registered');
      } else {
        result.failures.push({ subject: `specification of ${unit}`, error: answer.message });
      }
    }
    return hrefs;
  }

  /** Whether a buy's record stays unsent in this run. */
  const isHeld = (status: ReportStatus | undefined, scheduledAt: Date | undefined) =>
    status?.state === 'out-of-step' ||
    (status?.state === 'rejected' &&
      scheduledAt !== undefined &&
      Date.parse(status.lastAttempt) >= scheduledAt.getTime());

  async function reportBuy(
    buy: ReportableBuy,
    send: KeySession['send'],
    href: string,
    scheduledAt: Date | undefined,
    result: CycleResult,
  ) {
    const subject = { orderId: buy.orderId, productId: buy.productId, unit: buy.unit };
    if (buy.reportStatus && isHeld(buy.reportStatus, scheduledAt)) {
      result.held.push(heldBuy(buy, buy.reportStatus));
      return;
    }
    for (let i = 0; i < (options.recordsPerBuy ?? 2); i++) {
      const prepared = await store.prepareRecord(buy.apiKey, now());
      if (!prepared) return;
      const { correlationNumber } = prepared.outbox;
      await lock.renew();
      const answer = await send((key) =>
        usageApi.sendRecord(usageRecord(prepared, href, options.usageApiUrl), key),
      );
      const verdict = judgeRecordAnswer(correlationNumber, answer);
      if (verdict.verdict === 'key-refused') {
        result.records.failed++;
        throw new KeysRefused(verdict.message);
      }
      if (verdict.verdict === 'accepted') {
        result.records.accepted++;
        await store.completeRecord(buy.apiKey, correlationNumber);
        result.sent.push({ apiKey: buy.apiKey, ...subject, ...prepared.outbox });
        log.info(
          { ...subject, ...prepared.outbox },
          verdict.earlier
            ? 'usage record had been accepted earlier (its answer was lost); completed'
            : 'usage record sent',
        );
        continue;
      }
      const at = now().toISOString();
      const previous = prepared.reportStatus;
      const state = verdict.verdict;
      const status: ReportStatus = {
        state,
        message: verdict.message,
        since: previous?.state === state ? previous.since : at,
        lastAttempt: at,
        ...(verdict.verdict === 'out-of-step' ? { expected: verdict.expected } : {}),
      };
      await store.setReportStatus(buy.apiKey, correlationNumber, status);
      if (verdict.verdict === 'unknown') result.records.failed++;
      else result.records.rejected++;
      if (verdict.verdict === 'unknown') {
        // The record stays in the outbox and goes out, identical, on the next attempt.
        result.failures.push({ subject: buy.apiKey, error: verdict.message });
        log.warn({ ...subject, correlationNumber, err: verdict.message }, 'usage record not sent');
      } else if (verdict.verdict === 'out-of-step') {
        result.held.push(heldBuy(prepared, status));
        log.error(
          { ...subject, correlationNumber, expected: verdict.expected },
          `the marketplace expects record #${verdict.expected} of this buy, the proxy's next is ` +
            `#${correlationNumber}: nothing more is sent for it; compare the records the ` +
            'marketplace holds for this order and product with `cli usage`, then `cli resume`',
        );
      } else {
        result.held.push(heldBuy(prepared, status));
        log.error(
          { ...subject, correlationNumber, status: verdict.status, reason: verdict.message },
          'the marketplace rejected the usage record; it is kept and resent once per scheduled cycle',
        );
      }
      return;
    }
  }

  async function cycle(scheduledAt: Date | undefined, result: CycleResult): Promise<void> {
    if (options.leftoversOnly) {
      const due = (await store.listUsage()).some((b) => !b.terms && (b.pending > 0 || b.outbox));
      if (!due) return;
    }
    const keys = await openKeySession(store, now);
    if (!keys) {
      if (!toldNoKey)
        log.warn('no marketplace key yet (POST urls with X-API-KEY): usage is kept, not reported');
      toldNoKey = true;
      result.skipped = 'no-key';
      return;
    }
    toldNoKey = false;
    const hrefs = await specificationHrefs(keys, result);
    for (const buy of await store.listUsage()) {
      if (buy.pending <= 0 && !buy.outbox) continue;
      const href = hrefs.get(buy.unit);
      if (!href) {
        result.failures.push({
          subject: buy.apiKey,
          error: `no usage specification for unit ${buy.unit}`,
        });
        continue;
      }
      await reportBuy(buy, keys.send, href, scheduledAt, result);
    }
  }

  return {
    async run(run = {}) {
      const result = emptyCycleResult();
      if (!(await lock.take())) {
        result.skipped = 'locked';
        return result;
      }
      try {
        await cycle(run.scheduledAt, result);
      } catch (error) {
        if (error instanceof ReportLockLost) {
          log.warn('report lock lost to another process; this cycle stops sending');
          result.interrupted = 'lock-lost';
        } else if (error instanceof KeysRefused) {
          log.error(
            { reason: error.message },
            'the usage API refused every marketplace key; reporting resumes with the next key it accepts',
          );
          result.failures.push({ subject: 'marketplace keys', error: error.message });
        } else throw error;
      } finally {
        await lock.release().catch(() => {});
      }
      return result;
    },
  };
}
