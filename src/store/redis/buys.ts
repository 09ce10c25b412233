import type { Buy, BuyStore } from '../store.ts';
import { assertValidAmount } from '../usage-amount.ts';
import { type RedisContext, throwIfError } from './connection.ts';
import { identityKey, toBuy } from './rows.ts';

/** Buys and their metered usage in Redis. */
export function redisBuys({ redis, key, run, change }: RedisContext): BuyStore {
  const readBuys = async (apiKeys: string[]): Promise<Buy[]> => {
    const pipeline = redis.pipeline();
    for (const apiKey of apiKeys) pipeline.hgetall(key('buy', apiKey));
    const replies = (await pipeline.exec()) ?? [];
    return apiKeys.flatMap((apiKey, i) => {
      const hash = replies[i]?.[1] as Record<string, string> | undefined;
      return hash?.publicPath === undefined || hash.revoked === '1' ? [] : [toBuy(apiKey, hash)];
    });
  };
  return {
    addBuy: async (b) => {
      const reply = await run(
        'addBuy',
        b.apiKey,
        b.publicPath,
        b.orderId,
        b.productId,
        b.customer,
        b.unit,
        b.recordType,
        identityKey(b),
      );
      if (typeof reply !== 'string') throwIfError(reply);
      const [buy] = await readBuys([reply as string]);
      if (!buy) throw new Error(`buy ${reply} vanished while being stored`);
      return buy;
    },
    getBuy: async (apiKey) => (await readBuys([apiKey]))[0],
    findBuy: async (identity) => {
      const apiKey = await redis.get(key('buy-identity', identityKey(identity)));
      return apiKey === null ? undefined : (await readBuys([apiKey]))[0];
    },
    listBuys: async (filter) => {
      const all = await readBuys(await redis.zrange(key('buys'), 0, -1));
      return all.filter(
        (b) =>
          (filter?.customer === undefined || b.customer === filter.customer) &&
          (filter?.publicPath === undefined || b.publicPath === filter.publicPath),
      );
    },
    revokeBuy: (apiKey) => change('revokeBuy', apiKey),

    addUsage: async (increments, batch) => {
      if (increments.length === 0) return;
      const args: (string | number)[] = [batch?.writer ?? '', batch?.seq ?? 0];
      for (const { apiKey, amount } of increments) {
        assertValidAmount(amount);
        args.push(apiKey, amount);
      }
      await change('addUsage', ...args);
    },
    getUsage: async (apiKey) => {
      const [pending, correlationNumber] = await redis.hmget(
        key('buy', apiKey),
        'pending',
        'correlationNumber',
      );
      if (pending === null || pending === undefined) return undefined;
      return { apiKey, pending: Number(pending), correlationNumber: Number(correlationNumber) };
    },
  };
}
