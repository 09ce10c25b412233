import type { LockStore } from '../store.ts';
import type { RedisContext } from './connection.ts';

/** Named locks in Redis, expiring by the server's clock (PX). */
export function redisLocks({ redis, key, run, change }: RedisContext): LockStore {
  return {
    acquireLock: async (name, owner, ttlMs) => (await run('acquireLock', name, owner, ttlMs)) === 1,
    releaseLock: (name, owner) => change('releaseLock', name, owner),
    lockOwner: async (name) => (await redis.get(key('lock', name))) ?? undefined,
  };
}
