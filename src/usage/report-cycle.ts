import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AccountingModule } from '../accounting/module.ts';
import type { Logger } from '../log.ts';
import type { ReportableBuy, Store } from '../store/store.ts';
import type { UsageApi } from './usage-api.ts';
import { usageRecord } from './usage-record.ts';

export const REPORT_LOCK = 'usage-report';

/** Whether a lock owner `host:pid:…` names a process of this host that no longer runs. */
function isDeadLocalProcess(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !pid || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface SentRecord {
  apiKey: string;
  orderId: string;
  productId: string;
  unit: string;
  correlationNumber: number;
  value: number;
  date: string;
}

export interface CycleResult {
  /** Why nothing was attempted, if so. */
  skipped?: 'locked' | 'no-token';
  sent: SentRecord[];
  /** Buys or units whose records or specification could not be sent; they are retried. */
  failures: { subject: string; error: string }[];
}

export interface ReportCycleOptions {
  store: Store;
  modules: ReadonlyMap<string, AccountingModule>;
  usageApi: UsageApi;
  usageApiUrl: string;
  log: Logger;
  now?: () => Date;
  /** How long a cycle may hold the lock without renewing it (a crashed holder's lock expires). */
  lockTtlMs?: number;
  /** At most this many records per buy and cycle: a backlog drains over several cycles. */
  recordsPerBuy?: number;
}

export interface ReportCycle {
  run(): Promise<CycleResult>;
}

/**
 * One report cycle: registers missing usage specifications, then sends each buy's pending usage as
 * one TMF635 record through the store's outbox. Runs under a store lock, so with several proxies
 * on one store one cycle runs at a time.
 */
export function createReportCycle(options: ReportCycleOptions): ReportCycle {
  const { store, modules, usageApi, log } = options;
  const now = options.now ?? (() => new Date());
  const lockTtl = options.lockTtlMs ?? 5 * 60_000;
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;

  /**
   * The lock, or false while another cycle runs. A holder that died on this host (kill -9 during a
   * cycle) is recognised by its pid and replaced at once rather than after the lock's expiry.
   */
  async function lock(): Promise<boolean> {
    if (await store.acquireLock(REPORT_LOCK, owner, lockTtl)) return true;
    const holder = await store.lockOwner(REPORT_LOCK);
    if (!holder || !isDeadLocalProcess(holder)) return false;
    log.warn({ holder }, 'taking over the report lock of a process that died');
    await store.releaseLock(REPORT_LOCK, holder);
    return store.acquireLock(REPORT_LOCK, owner, lockTtl);
  }
  let toldNoToken = false;

  async function specificationHrefs(
    token: string,
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
      try {
        const href = await usageApi.registerSpecification(module.usageSpecification, token);
        await store.setSpecificationHref(unit, href);
        hrefs.set(unit, href);
        log.info({ unit, href }, 'usage specification registered');
      } catch (error) {
        result.failures.push({
          subject: `specification of ${unit}`,
          error: (error as Error).message,
        });
      }
    }
    return hrefs;
  }

  async function reportBuy(buy: ReportableBuy, token: string, href: string, result: CycleResult) {
    for (let i = 0; i < (options.recordsPerBuy ?? 2); i++) {
      const prepared = await store.prepareRecord(buy.apiKey, now());
      if (!prepared) return;
      await usageApi.sendRecord(usageRecord(prepared, href, options.usageApiUrl), token);
      await store.completeRecord(buy.apiKey, prepared.outbox.correlationNumber);
      result.sent.push({
        apiKey: buy.apiKey,
        orderId: buy.orderId,
        productId: buy.productId,
        unit: buy.unit,
        ...prepared.outbox,
      });
      log.info(
        { orderId: buy.orderId, productId: buy.productId, unit: buy.unit, ...prepared.outbox },
        'usage record sent',
      );
      await store.acquireLock(REPORT_LOCK, owner, lockTtl);
    }
  }

  async function cycle(result: CycleResult): Promise<void> {
    const token = await store.getMarketplaceToken();
    if (!token) {
      if (!toldNoToken)
        log.warn(
          'no marketplace token yet (POST urls with X-API-KEY): usage is kept, not reported',
        );
      toldNoToken = true;
      result.skipped = 'no-token';
      return;
    }
    toldNoToken = false;
    const hrefs = await specificationHrefs(token, result);
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
      try {
        await reportBuy(buy, token, href, result);
      } catch (error) {
        // The record stays in the outbox and goes out, identical, on the next attempt.
        result.failures.push({ subject: buy.apiKey, error: (error as Error).message });
        log.warn(
          { orderId: buy.orderId, productId: buy.productId, err: (error as Error).message },
          'usage record not accepted; will retry',
        );
      }
    }
  }

  return {
    async run() {
      const result: CycleResult = { sent: [], failures: [] };
      if (!(await lock())) {
        result.skipped = 'locked';
        return result;
      }
      try {
        await cycle(result);
      } finally {
        await store.releaseLock(REPORT_LOCK, owner).catch(() => {});
      }
      return result;
    },
  };
}
