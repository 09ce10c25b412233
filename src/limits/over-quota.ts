import type { LimitCounters } from './counting.ts';
import { effectiveLimits, type Limits, quotaPeriodAt } from './limits.ts';

/**
 * How many buys have spent their quota of the current period: with limits set on services and
 * buys as the store lists them, and the buys' counters.
 */
export function countBuysOverQuota(
  limits: readonly { publicPath: string; apiKey?: string; limits: Limits }[],
  buys: readonly { apiKey: string; publicPath: string }[],
  counters: readonly LimitCounters[],
  nowMs: number,
): number {
  const ofService = new Map<string, Limits>();
  const ofBuy = new Map<string, Limits>();
  for (const entry of limits) {
    if (entry.apiKey === undefined) ofService.set(entry.publicPath, entry.limits);
    else ofBuy.set(entry.apiKey, entry.limits);
  }
  const countersOf = new Map(counters.map((c) => [c.apiKey, c]));
  let over = 0;
  for (const buy of buys) {
    const quota = effectiveLimits(ofService.get(buy.publicPath), ofBuy.get(buy.apiKey))?.quota;
    const spent = countersOf.get(buy.apiKey);
    if (!quota || !spent) continue;
    const current = quotaPeriodAt(quota.period, nowMs).key;
    if (spent.quotaPeriod === current && spent.quotaSpent >= quota.amount) over++;
  }
  return over;
}
