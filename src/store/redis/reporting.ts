import { MARKETPLACE_KEYS_KEPT, type ReportingStore } from '../store.ts';
import { atomically, type RedisContext } from './connection.ts';
import { type MarketplaceKeyEntry, parseBuy, toReportable } from './rows.ts';

/** The outbox of usage records, specifications and marketplace keys in Redis. */
export function redisReporting({
  redis,
  keys,
  change,
  durableRun,
  durableChange,
}: RedisContext): ReportingStore {
  return {
    listUsage: async () => {
      const [buys, pending] = await atomically<[Record<string, string>, Record<string, string>]>(
        redis.multi().hgetall(keys.of('buys')).hgetall(keys.of('pending')),
      );
      return Object.entries(buys)
        .map(([apiKey, json]) => toReportable(apiKey, parseBuy(json), pending[apiKey]))
        .sort((a, b) => a.seq - b.seq)
        .map(({ seq: _seq, ...buy }) => buy);
    },
    // With WAIT_REPLICAS, a record is sent only once a replica has it, and counts as completed
    // only once a replica knows: a replica promoted in a failover never numbers it anew.
    prepareRecord: async (apiKey, now) => {
      const reply = (await durableRun('prepareRecord', [apiKey, now.toISOString()])) as
        | [string, string]
        | null;
      if (!reply) return undefined;
      const { seq: _seq, ...buy } = toReportable(apiKey, parseBuy(reply[0]), reply[1]);
      return buy.outbox ? { ...buy, outbox: buy.outbox } : undefined;
    },
    completeRecord: (apiKey, correlationNumber) =>
      durableChange('completeRecord', apiKey, correlationNumber),
    recordMeterFault: (apiKey, reason) => change('recordMeterFault', apiKey, reason),
    setReportStatus: (apiKey, correlationNumber, status) =>
      change('setReportStatus', apiKey, correlationNumber, status ? JSON.stringify(status) : ''),

    setSpecificationHref: async (unit, href) => {
      await redis.hset(keys.of('specifications'), unit, href);
    },
    getSpecificationHref: async (unit) =>
      (await redis.hget(keys.of('specifications'), unit)) ?? undefined,
    addMarketplaceKey: (marketplaceKey, receivedAt) =>
      change('addMarketplaceKey', marketplaceKey, receivedAt.toISOString(), MARKETPLACE_KEYS_KEPT),
    listMarketplaceKeys: async () => {
      const entries = await redis.hgetall(keys.of('marketplace-keys'));
      return Object.entries(entries)
        .map(([k, json]) => ({ key: k, ...(JSON.parse(json) as MarketplaceKeyEntry) }))
        .sort((a, b) => b.seq - a.seq)
        .map(({ seq: _seq, ...entry }) => entry);
    },
    setMarketplaceKeyState: (marketplaceKey, state, checkedAt) =>
      change('setMarketplaceKeyState', marketplaceKey, state, checkedAt.toISOString()),
  };
}
