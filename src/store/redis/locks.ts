import type { LockStore } from '../store.ts';
import { type RedisContext, throwIfError } from './connection.ts';

/** Named locks in Redis, expiring by the server's clock (PX). */
export function redisLocks({ redis, keys, run }: RedisContext): LockStore {
  return {
    acquireLock: async (name, owner, ttlMs) =>
      (await run('acquireLock', [owner, ttlMs], [keys.lock(name)])) === 1,
    releaseLock: async (name, owner) =>
      throwIfError(await run('releaseLock', [owner], [keys.lock(name)])),
    lockOwner: async (name) => (await redis.get(keys.lock(name))) ?? undefined,
  };
}
