import type { LimitCounters } from './counting.ts';
import { type LimitsSetting, limitsResolver, type Quota, quotaPeriodAt } from './limits.ts';

/**
 * Where a buy stands against its quota at `nowMs`: what its current period has spent (nothing
 * when its counters are of an earlier period), whether its counters of this period reached the
 * quota, and when the period ends (never, for `total`).
 */
export function quotaStanding(
  quota: Quota,
  counters: LimitCounters | undefined,
  nowMs: number,
): { spent: number; over: boolean; endsAt: number | undefined } {
  const period = quotaPeriodAt(quota.period, nowMs);
  const current = counters?.quotaPeriod === period.key;
  const spent = current ? (counters?.quotaSpent ?? 0) : 0;
  return { spent, over: current && spent >= quota.amount, endsAt: period.endsAt };
}

/**
 * How many buys have spent their quota of the current period: with limits set on services and
 * buys as the store lists them, and the buys' counters.
 */
export function countBuysOverQuota(
  settings: readonly LimitsSetting[],
  buys: readonly { apiKey: string; publicPath: string }[],
  counters: readonly LimitCounters[],
  nowMs: number,
): number {
  const limitsOf = limitsResolver(settings);
  const countersOf = new Map(counters.map((c) => [c.apiKey, c]));
  let over = 0;
  for (const buy of buys) {
    const quota = limitsOf(buy)?.quota;
    if (quota && quotaStanding(quota, countersOf.get(buy.apiKey), nowMs).over) over++;
  }
  return over;
}
