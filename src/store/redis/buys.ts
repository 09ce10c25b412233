import type { Buy, BuyStore } from '../store.ts';
import { assertValidAmount } from '../usage-amount.ts';
import { atomically, type RedisContext, throwIfError } from './connection.ts';
import { buysInForce, identityKey, parseBuy, toBuy } from './rows.ts';

/** Buys and their metered usage in Redis. */
export function redisBuys({ redis, keys, run, change, durableChange }: RedisContext): BuyStore {
  const buyInForce = (apiKey: string, json: string | null): Buy | undefined => {
    if (json === null) return undefined;
    const entry = parseBuy(json);
    return entry.revoked ? undefined : toBuy(apiKey, entry);
  };
  const getBuy = async (apiKey: string) =>
    buyInForce(apiKey, await redis.hget(keys.of('buys'), apiKey));
  return {
    addBuy: async (b) => {
      const reply = await run('addBuy', [
        b.apiKey,
        b.publicPath,
        b.orderId,
        b.productId,
        b.customer,
        b.unit,
        b.recordType,
        identityKey(b),
        b.access?.clientKey ?? '',
        b.access?.clientPassword ?? '',
        b.terms ? JSON.stringify(b.terms) : '',
      ]);
      if (typeof reply !== 'string') throwIfError(reply);
      const buy = await getBuy(reply as string);
      if (!buy) throw new Error(`buy ${reply} vanished while being stored`);
      return buy;
    },
    getBuy,
    findBuy: async (identity) => {
      const apiKey = await redis.hget(keys.of('identities'), identityKey(identity));
      return apiKey === null ? undefined : getBuy(apiKey);
    },
    listBuys: async (filter) =>
      buysInForce(await redis.hgetall(keys.of('buys'))).filter(
        (b) =>
          (filter?.customer === undefined || b.customer === filter.customer) &&
          (filter?.publicPath === undefined || b.publicPath === filter.publicPath),
      ),
    revokeBuy: (apiKey) => change('revokeBuy', apiKey),

    addUsage: async (increments, batch) => {
      if (increments.length === 0) return;
      const window = batch?.window;
      const args: (string | number)[] = [
        batch?.writer ?? '',
        batch?.seq ?? 0,
        window ? String(window.start) : '',
        window ? String(window.at) : '',
        window ? String(window.length) : '',
      ];
      for (const { apiKey, amount, quotaPeriod } of increments) {
        assertValidAmount(amount);
        args.push(apiKey, amount, quotaPeriod ?? '');
      }
      await durableChange('addUsage', ...args);
    },
    getUsage: async (apiKey) => {
      const [json, pending] = await atomically<[string | null, string | null]>(
        redis.multi().hget(keys.of('buys'), apiKey).hget(keys.of('pending'), apiKey),
      );
      if (json === null || pending === null) return undefined;
      const buy = parseBuy(json);
      return {
        apiKey,
        pending: Number(pending),
        reported: Number(buy.reported ?? 0),
        correlationNumber: buy.correlationNumber,
      };
    },
  };
}
