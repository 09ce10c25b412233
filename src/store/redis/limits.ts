import type { Limits } from '../../limits/limits.ts';
import type { Admission, LimitStore, LimitsEntry } from '../limits.ts';
import { atomically, type RedisContext } from './connection.ts';
import { parseBuy } from './rows.ts';

/**
 * The limits in force from the `limits` hash (`<publicPath>\n<apiKey>` → JSON) and the `buys`
 * hash: of services, and of buys not revoked; service-wide first.
 */
export function limitsInForce(
  limitHash: Record<string, string>,
  buyHash: Record<string, string>,
): LimitsEntry[] {
  const entries = Object.entries(limitHash).flatMap(([field, json]): LimitsEntry[] => {
    const cut = field.lastIndexOf('\n');
    const publicPath = field.slice(0, cut);
    const apiKey = field.slice(cut + 1);
    const limits = JSON.parse(json) as Limits;
    if (apiKey === '') return [{ publicPath, limits }];
    const buy = buyHash[apiKey];
    return buy && !parseBuy(buy).revoked ? [{ publicPath, apiKey, limits }] : [];
  });
  const order = (e: LimitsEntry) =>
    `${e.apiKey === undefined ? 0 : 1}\n${e.publicPath}\n${e.apiKey ?? ''}`;
  return entries.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/** Limits and each buy's counters in Redis, every admission one script. */
export function redisLimits({ redis, keys, run, change }: RedisContext): LimitStore {
  return {
    setLimits: (publicPath, limits, buy) =>
      change(
        'setLimits',
        publicPath,
        limits && (limits.rate || limits.quota) ? JSON.stringify(limits) : '',
        buy?.orderId ?? '',
        buy?.productId ?? '',
      ),
    listLimits: async () => {
      const [limitHash, buyHash] = await atomically<
        [Record<string, string>, Record<string, string>]
      >(redis.multi().hgetall(keys.of('limits')).hgetall(keys.of('buys')));
      return limitsInForce(limitHash, buyHash);
    },
    admit: async ({ apiKey, rate, quota }) => {
      const [admitted, refusedBy, count, spent] = (await run('admit', [
        apiKey,
        rate ? String(rate.window) : '',
        rate?.limit ?? 0,
        quota?.period ?? '',
        quota?.amount ?? 0,
        quota?.reserve ?? 0,
      ])) as [number, string, number, string];
      const admission: Admission = { admitted: admitted === 1 };
      if (refusedBy === 'rate' || refusedBy === 'quota') admission.refusedBy = refusedBy;
      if (rate) admission.rateCount = count;
      if (quota) admission.quotaSpent = Number(spent);
      return admission;
    },
    listLimitCounters: async () =>
      Object.entries(await redis.hgetall(keys.of('limit-counters')))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([apiKey, json]) => {
          const counters = JSON.parse(json) as { w?: string; c?: number; p?: string; s?: string };
          return {
            apiKey,
            ...(counters.w === undefined ? {} : { rateWindow: Number(counters.w) }),
            rateCount: counters.c ?? 0,
            ...(counters.p === undefined ? {} : { quotaPeriod: counters.p }),
            quotaSpent: Number(counters.s ?? 0),
          };
        }),
    releaseReservation: async (apiKey, period, amount) => {
      await run('releaseReservation', [apiKey, period, amount]);
    },
  };
}
