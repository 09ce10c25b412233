import type { SqliteDatabase } from './driver.ts';

/**
 * Wraps a routing change (services, admins, bindings, buys) in one write transaction that also
 * bumps the routing version, so other processes polling it see the change.
 */
export function routingChanges(db: SqliteDatabase) {
  const bump = db.prepare('UPDATE routing_version SET version = version + 1 WHERE id = 1');
  return <A extends unknown[], R>(body: (...args: A) => R) => {
    const run = db.transaction((...args: A): R => {
      const result = body(...args);
      bump.run();
      return result;
    });
    return async (...args: A): Promise<R> => run.immediate(...args);
  };
}

export type RoutingChange = ReturnType<typeof routingChanges>;
