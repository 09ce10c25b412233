import type { RoutingState, RoutingStore } from '../store.ts';
import type { RedisContext } from './connection.ts';
import { compare, toBuy, toService } from './rows.ts';

/** Services, administrators and bindings in Redis; every change runs as one script. */
export function redisRouting({ redis, key, run, change }: RedisContext): RoutingStore {
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
      ),
    getService: async (publicPath) => {
      const hash = await redis.hgetall(key('service', publicPath));
      return hash.url === undefined ? undefined : toService(publicPath, hash);
    },
    listServices: async () => {
      const paths = (await redis.smembers(key('services'))).sort();
      const pipeline = redis.pipeline();
      for (const path of paths) pipeline.hgetall(key('service', path));
      const replies = (await pipeline.exec()) ?? [];
      return paths.flatMap((path, i) => {
        const hash = replies[i]?.[1] as Record<string, string> | undefined;
        return hash?.url === undefined ? [] : [toService(path, hash)];
      });
    },
    deleteService: (publicPath) => change('deleteService', publicPath),

    addAdmin: (userId) => change('addAdmin', userId),
    deleteAdmin: (userId) => change('deleteAdmin', userId),
    listAdmins: async () => (await redis.smembers(key('admins'))).sort(),
    bindAdmin: (userId, publicPath) => change('bindAdmin', userId, publicPath),
    unbindAdmin: (userId, publicPath) => change('unbindAdmin', userId, publicPath),
    getAdmins: async (publicPath) =>
      (await redis.smembers(key('service-admins', publicPath))).sort(),

    loadRoutingState: async (): Promise<RoutingState> => {
      const [services, bindings, buys] = (await run('routingState')) as [
        string[][],
        string[][],
        string[][],
      ];
      const field = (row: string[], i: number) => row[i] ?? '';
      return {
        services: services
          .map((r) =>
            toService(field(r, 0), {
              url: field(r, 1),
              appId: field(r, 2),
              methods: field(r, 3),
              isContextBroker: field(r, 4),
            }),
          )
          .sort((a, b) => compare(a.publicPath, b.publicPath)),
        bindings: bindings
          .map((r) => ({ adminId: field(r, 0), publicPath: field(r, 1) }))
          .sort((a, b) => compare(a.adminId, b.adminId) || compare(a.publicPath, b.publicPath)),
        buys: buys.map((r) =>
          toBuy(field(r, 0), {
            publicPath: field(r, 1),
            orderId: field(r, 2),
            productId: field(r, 3),
            customer: field(r, 4),
            unit: field(r, 5),
            recordType: field(r, 6),
          }),
        ),
      };
    },
    routingVersion: async () => Number((await redis.get(key('routing-version'))) ?? 0),
  };
}
