import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';

export const REPORT_LOCK = 'usage-report';

/** The cycle's lock expired and another process took it: nothing more may be sent. */
export class ReportLockLost extends Error {
  override name = 'ReportLockLost';
}

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

export interface ReportLock {
  /** The lock, or false while another cycle runs. */
  take(): Promise<boolean>;
  /** Extends the lock before each send; throws ReportLockLost once another process has it. */
  renew(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The store lock that lets one report cycle run at a time across processes. A holder that died
 * on this host (kill -9 during a cycle) is recognised by its pid and replaced at once rather than
 * after the lock's expiry.
 */
export function reportLock(
  store: Pick<Store, 'acquireLock' | 'releaseLock' | 'lockOwner'>,
  ttlMs: number,
  log: Logger,
): ReportLock {
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  return {
    async take() {
      if (await store.acquireLock(REPORT_LOCK, owner, ttlMs)) return true;
      const holder = await store.lockOwner(REPORT_LOCK);
      if (!holder || !isDeadLocalProcess(holder)) return false;
      log.warn({ holder }, 'taking over the report lock of a process that died');
      await store.releaseLock(REPORT_LOCK, holder);
      return store.acquireLock(REPORT_LOCK, owner, ttlMs);
    },
    async renew() {
      if (!(await store.acquireLock(REPORT_LOCK, owner, ttlMs))) {
        throw new ReportLockLost('the report lock expired and another process holds it');
      }
    },
    async release() {
      await store.releaseLock(REPORT_LOCK, owner);
    },
  };
}
