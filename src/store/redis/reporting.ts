import { MARKETPLACE_KEYS_KEPT, type ReportingStore } from '../store.ts';
import type { RedisContext } from './connection.ts';
import { type MarketplaceKeyEntry, toReportable } from './rows.ts';

/** The outbox of usage records, specifications and marketplace keys in Redis. */
export function redisReporting({ redis, key, run, change }: RedisContext): ReportingStore {
  return {
    listUsage: async () => {
      const apiKeys = [
        ...(await redis.zrange(key('buys'), 0, -1)),
        ...(await redis.smembers(key('revoked-buys'))),
      ];
      const pipeline = redis.pipeline();
      for (const apiKey of apiKeys) pipeline.hgetall(key('buy', apiKey));
      const replies = (await pipeline.exec()) ?? [];
      return apiKeys
        .flatMap((apiKey, i) => {
          const hash = replies[i]?.[1] as Record<string, string> | undefined;
          return hash?.publicPath === undefined ? [] : [toReportable(apiKey, hash)];
        })
        .sort((a, b) => a.seq - b.seq)
        .map(({ seq: _seq, ...buy }) => buy);
    },
    prepareRecord: async (apiKey, now) => {
      const reply = (await run('prepareRecord', apiKey, now.toISOString())) as string[] | null;
      if (!reply) return undefined;
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < reply.length; i += 2)
        hash[reply[i] as string] = reply[i + 1] as string;
      const { seq: _seq, ...buy } = toReportable(apiKey, hash);
      return buy.outbox ? { ...buy, outbox: buy.outbox } : undefined;
    },
    completeRecord: (apiKey, correlationNumber) =>
      change('completeRecord', apiKey, correlationNumber),
    setReportStatus: (apiKey, correlationNumber, status) =>
      change('setReportStatus', apiKey, correlationNumber, status ? JSON.stringify(status) : ''),

    setSpecificationHref: async (unit, href) => {
      await redis.hset(key('specifications'), unit, href);
    },
    getSpecificationHref: async (unit) =>
      (await redis.hget(key('specifications'), unit)) ?? undefined,
    addMarketplaceKey: (marketplaceKey, receivedAt) =>
      change('addMarketplaceKey', marketplaceKey, receivedAt.toISOString(), MARKETPLACE_KEYS_KEPT),
    listMarketplaceKeys: async () => {
      const entries = await redis.hgetall(key('marketplace-keys'));
      return Object.entries(entries)
        .map(([k, json]) => ({ key: k, ...(JSON.parse(json) as MarketplaceKeyEntry) }))
        .sort((a, b) => b.seq - a.seq)
        .map(({ seq: _seq, ...entry }) => entry);
    },
    setMarketplaceKeyState: (marketplaceKey, state, checkedAt) =>
      change('setMarketplaceKeyState', marketplaceKey, state, checkedAt.toISOString()),
  };
}
