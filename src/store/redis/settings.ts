import type { SettingsStore } from '../store.ts';
import { atomically, type RedisContext } from './connection.ts';

/** The proxy's own settings in the `settings` hash. */
export function redisSettings({ redis, keys }: RedisContext): SettingsStore {
  return {
    claimSetting: async (name, value) => {
      const settings = keys.of('settings');
      const [, stored] = await atomically<[number, string | null]>(
        redis.multi().hsetnx(settings, name, value).hget(settings, name),
      );
      return stored ?? value;
    },
  };
}
