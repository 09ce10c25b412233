import type { LimitCounters } from './counting.ts';
import { type LimitsSetting, limitsResolver, quotaPeriodAt } from './limits.ts';

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
    const spent = countersOf.get(buy.apiKey);
    if (!quota || !spent) continue;
    const current = quotaPeriodAt(quota.period, nowMs).key;
    if (spent.quotaPeriod === current && spent.quotaSpent >= quota.amount) over++;
  }
  return over;
}
