import type { Clock } from '../../clock.ts';
import type { LockStore } from '../store.ts';
import type { SqliteDatabase } from './driver.ts';

/** Named locks in SQLite, expiring by the given clock. */
export function sqliteLocks(db: SqliteDatabase, clock: Clock): LockStore {
  const sql = {
    take: db.prepare(
      `INSERT INTO locks (name, owner, expires_at) VALUES (@name, @owner, @expires)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE locks.owner = excluded.owner OR locks.expires_at < @now`,
    ),
    release: db.prepare('DELETE FROM locks WHERE name = ? AND owner = ?'),
    owner: db.prepareValue('SELECT owner FROM locks WHERE name = ? AND expires_at >= ?'),
  };
  return {
    acquireLock: async (name, owner, ttlMs) => {
      const now = clock.now();
      return sql.take.run({ name, owner, expires: now + ttlMs, now }).changes === 1;
    },
    releaseLock: async (name, owner) => {
      sql.release.run(name, owner);
    },
    lockOwner: async (name) => sql.owner.get(name, clock.now()) as string | undefined,
  };
}
