import type { WindowStore } from '../store.ts';
import type { RedisContext } from './connection.ts';

/** Usage records of windows (tmf4 mode) in Redis: the `windows` hash, `<apiKey>|<start>`. */
export function redisWindows({ durableRun }: RedisContext): WindowStore {
  return {
    prepareWindowRecord: async (apiKey, closedBefore) => {
      const before = Number.isFinite(closedBefore) ? closedBefore : Number.MAX_SAFE_INTEGER;
      const reply = (await durableRun('prepareWindowRecord', [apiKey, before])) as
        | [string, string, string, number]
        | null;
      if (!reply) return undefined;
      const [window, value, lastAt, correlationNumber] = reply;
      return {
        apiKey,
        window: Number(window),
        value: Number(value),
        date: new Date(Number(lastAt)).toISOString(),
        correlationNumber: Number(correlationNumber),
      };
    },
  };
}
