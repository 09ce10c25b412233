import { Redis } from 'ioredis';
import { type ErrorCode, proxyError } from '../../errors.ts';
import { type ScriptName, scripts } from './scripts.ts';

export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  prefix: string;
  /** Give up at once when Redis is unreachable (the CLI) instead of reconnecting forever (the proxy). */
  failFast?: boolean;
}

type ScriptReply = 'OK' | [ErrorCode, ...(string | number)[]];
type ScriptCommand = (...args: unknown[]) => Promise<ScriptReply>;

/** What every concern of the Redis store works with. */
export interface RedisContext {
  redis: Redis;
  /** The key of these parts under the store's prefix. */
  key(...parts: string[]): string;
  /** Runs a script and answers its reply as it is. */
  run(name: ScriptName, ...args: (string | number)[]): Promise<unknown>;
  /** Runs a script that answers 'OK' or an error of the table, which it throws. */
  change(name: ScriptName, ...args: (string | number)[]): Promise<void>;
}

export function throwIfError(reply: unknown): void {
  if (reply === 'OK') return;
  const [code, ...args] = reply as Exclude<ScriptReply, 'OK'>;
  // The scripts only return codes of the error table, with that entry's arguments.
  throw (proxyError as (code: ErrorCode, ...args: unknown[]) => Error)(code, ...args);
}

/** Connects (or fails with STORE_CONNECTION_FAILED) and defines the store's scripts. */
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisContext> {
  const redis = new Redis({
    host: options.host,
    port: options.port,
    db: options.db,
    lazyConnect: true,
    ...(options.failFast
      ? { retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 }
      : {
          retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
          // Fail commands at once while disconnected: the proxy then refuses unbillable requests
          // and its own retries (with batch ids) decide what is sent again, never ioredis.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
        }),
  });
  // Without a listener ioredis would report connection errors as unhandled; callers see them as
  // rejected commands instead.
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw proxyError(
      'STORE_CONNECTION_FAILED',
      `Redis at ${options.host}:${options.port}`,
      (lastError ?? (error as Error)).message,
    );
  }
  for (const [name, lua] of Object.entries(scripts)) {
    redis.defineCommand(`ap_${name}`, { numberOfKeys: 0, lua });
  }
  const prefix = options.prefix;
  const run = async (name: ScriptName, ...args: (string | number)[]) => {
    // defineCommand above added one method per script name.
    const command = (redis as unknown as Record<string, ScriptCommand>)[
      `ap_${name}`
    ] as ScriptCommand;
    return command.call(redis, prefix, ...args);
  };
  return {
    redis,
    key: (...parts) => prefix + parts.join(':'),
    run,
    change: async (name, ...args) => throwIfError(await run(name, ...args)),
  };
}
