import type { RoutingState, RoutingStore } from '../store.ts';
import { atomically, type RedisContext } from './connection.ts';
import { limitsInForce } from './limits.ts';
import { buysInForce, compare, toService } from './rows.ts';

type Bindings = { adminId: string; publicPath: string }[];

const parseBindings = (members: string[]): Bindings =>
  members
    .map((member) => JSON.parse(member) as [string, string])
    .map(([adminId, publicPath]) => ({ adminId, publicPath }))
    .sort((a, b) => compare(a.adminId, b.adminId) || compare(a.publicPath, b.publicPath));

/** Services, administrators and bindings in Redis; every change runs as one script. */
export function redisRouting({ redis, keys, change }: RedisContext): RoutingStore {
  const services = (all: Record<string, string>) =>
    Object.entries(all)
      .map(([path, json]) => toService(path, json))
      .sort((a, b) => compare(a.publicPath, b.publicPath));
  return {
    addService: (s, options) =>
      change(
        'addService',
        s.publicPath,
        options?.replace ? '1' : '0',
        s.url,
        s.appId,
        s.methods.join(','),
        s.isContextBroker ? '1' : '0',
        s.adapter ? '1' : '0',
        s.catalog ? JSON.stringify(s.catalog) : '',
      ),
    setServiceCatalog: (publicPath, catalog) =>
      change('setServiceCatalog', publicPath, JSON.stringify(catalog)),
    getService: async (publicPath) => {
      const json = await redis.hget(keys.of('services'), publicPath);
      return json === null ? undefined : toService(publicPath, json);
    },
    listServices: async () => services(await redis.hgetall(keys.of('services'))),
    deleteService: (publicPath) => change('deleteService', publicPath),

    addAdmin: (userId) => change('addAdmin', userId),
    deleteAdmin: (userId) => change('deleteAdmin', userId),
    listAdmins: async () => (await redis.smembers(keys.of('admins'))).sort(compare),
    bindAdmin: (userId, publicPath) => change('bindAdmin', userId, publicPath),
    unbindAdmin: (userId, publicPath) => change('unbindAdmin', userId, publicPath),
    getAdmins: async (publicPath) =>
      parseBindings(await redis.smembers(keys.of('bindings')))
        .filter((binding) => binding.publicPath === publicPath)
        .map((binding) => binding.adminId),

    // One MULTI: a consistent read of everything the proxy path routes by.
    loadRoutingState: async (): Promise<RoutingState> => {
      const [serviceHash, bindings, buyHash, limitHash] = await atomically<
        [Record<string, string>, string[], Record<string, string>, Record<string, string>]
      >(
        redis
          .multi()
          .hgetall(keys.of('services'))
          .smembers(keys.of('bindings'))
          .hgetall(keys.of('buys'))
          .hgetall(keys.of('limits')),
      );
      return {
        services: services(serviceHash),
        bindings: parseBindings(bindings),
        buys: buysInForce(buyHash),
        limits: limitsInForce(limitHash, buyHash),
      };
    },
    routingVersion: async () =>
      Number((await redis.hget(keys.of('counters'), 'routing-version')) ?? 0),
  };
}
