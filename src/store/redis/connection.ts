import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { HostPort } from '../../config/parsers.ts';
import { type ErrorCode, proxyError } from '../../errors.ts';
import { type StoreKeys, storeKeys } from './keys.ts';
import { type ScriptName, scripts } from './scripts.ts';

/** Where the store's Redis is and how to log in; passwords never reach a message. */
export interface RedisConnectionOptions {
  topology:
    | { kind: 'single'; host: string; port: number }
    | { kind: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword: string }
    | { kind: 'cluster'; nodes: HostPort[] };
  db: number;
  username: string;
  password: string;
  tls: boolean;
  /** PEM file of the CA for TLS; '' for the system's CAs. */
  tlsCaFile: string;
  prefix: string;
  /** Replicas that must acknowledge a usage commit (WAIT); 0: the primary's reply is enough. */
  waitReplicas?: number;
  /** Give up at once when Redis is unreachable (the CLI) instead of reconnecting forever (the proxy). */
  failFast?: boolean;
}

type ScriptReply = 'OK' | [ErrorCode, ...(string | number)[]];
type ScriptCommand = (...args: unknown[]) => Promise<ScriptReply>;
export type RedisClient = Redis | Cluster;

/** What every concern of the Redis store works with. */
export interface RedisContext {
  redis: RedisClient;
  keys: StoreKeys;
  /** Runs a script (its declared keys, then `extraKeys`) and answers its reply as it is. */
  run(name: ScriptName, args: readonly (string | number)[], extraKeys?: string[]): Promise<unknown>;
  /** Runs a script that answers 'OK' or an error of the table, which it throws. */
  change(name: ScriptName, ...args: (string | number)[]): Promise<void>;
  /**
   * Like `change`, and then waits until `waitReplicas` replicas have the write (WAIT, sent in the
   * same pipeline so it reaches the node that ran the script); fails if they do not in time.
   */
  durableChange(name: ScriptName, ...args: (string | number)[]): Promise<void>;
  /** Like `run`, and then waits for the replicas as `durableChange` does. */
  durableRun(name: ScriptName, args: readonly (string | number)[]): Promise<unknown>;
}

// How long a commit waits for its replicas before it counts as failed (and is retried, with the
// same batch number, so it is never added twice).
const WAIT_TIMEOUT_MS = 1000;

export function throwIfError(reply: unknown): void {
  if (reply === 'OK') return;
  const [code, ...args] = reply as Exclude<ScriptReply, 'OK'>;
  // The scripts only return codes of the error table, with that entry's arguments.
  throw (proxyError as (code: ErrorCode, ...args: unknown[]) => Error)(code, ...args);
}

/** The replies of a MULTI (one slot: every key has the store's hash tag), or its first error. */
export async function atomically<T extends unknown[]>(
  transaction: ReturnType<RedisClient['multi']>,
): Promise<T> {
  const replies = (await transaction.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  }) as T;
}

/** What the start-up error names: the topology, never a password. */
export function describeTopology(topology: RedisConnectionOptions['topology']): string {
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (topology.kind === 'sentinel') {
    return `Redis primary "${topology.name}" from Sentinels ${list(topology.sentinels)}`;
  }
  if (topology.kind === 'cluster') return `Redis Cluster at ${list(topology.nodes)}`;
  return `Redis at ${topology.host}:${topology.port}`;
}

/** The setting a failed connection points at, so the one start-up line says what to fix. */
function explain(error: Error, options: RedisConnectionOptions): string {
  const text = error.message;
  if (/WRONGPASS|NOAUTH|invalid username-password|AUTH failed|NOPERM/i.test(text)) {
    return `Redis refused the credentials (check ACCOUNTING_PROXY_REDIS_PASSWORD, ACCOUNTING_PROXY_REDIS_USERNAME or the user and password of ACCOUNTING_PROXY_REDIS_URL): ${text}`;
  }
  const tlsProblem =
    /certificate|self[- ]signed|SSL|TLS|wrong version number|unable to verify|EPROTO|ERR_TLS|packet length/i.test(
      `${text} ${(error as NodeJS.ErrnoException).code ?? ''}`,
    );
  if (tlsProblem) {
    return `TLS to Redis failed (check ACCOUNTING_PROXY_REDIS_TLS, rediss:// in ACCOUNTING_PROXY_REDIS_URL and ACCOUNTING_PROXY_REDIS_TLS_CA): ${text}`;
  }
  if (/ECONNRESET|socket hang up/i.test(text)) {
    const hint = options.tls
      ? 'does the server speak TLS on that port?'
      : 'a server that wants TLS does this: check ACCOUNTING_PROXY_REDIS_TLS or rediss:// in ACCOUNTING_PROXY_REDIS_URL';
    return `the server closed the connection (${hint}): ${text}`;
  }
  return text;
}

function tlsOptions(options: RedisConnectionOptions): ConnectionOptions | undefined {
  if (!options.tls) return undefined;
  return options.tlsCaFile ? { ca: readFileSync(options.tlsCaFile) } : {};
}

function createClient(options: RedisConnectionOptions): RedisClient {
  const tls = tlsOptions(options);
  const retry = options.failFast
    ? { retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 }
    : {
        retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
        // Fail commands at once while disconnected: the proxy then refuses unbillable requests
        // and its own retries (with batch ids) decide what is sent again, never ioredis.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
      };
  const login: RedisOptions = {
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    ...(tls ? { tls } : {}),
  };
  const { topology } = options;
  if (topology.kind === 'cluster') {
    return new Cluster(topology.nodes, {
      lazyConnect: true,
      redisOptions: { ...login, connectTimeout: 3000, maxRetriesPerRequest: 0 },
      enableOfflineQueue: options.failFast ?? false,
      clusterRetryStrategy: options.failFast
        ? () => null
        : (attempt: number) => Math.min(attempt * 100, 2000),
      // Slot moves (a failover) are retried by ioredis: the node that now owns the slot runs it.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnMoved: 0,
      maxRedirections: 16,
      slotsRefreshTimeout: 2000,
      slotsRefreshInterval: 1000,
    });
  }
  const common: RedisOptions = { ...login, db: options.db, lazyConnect: true, ...retry };
  if (topology.kind === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: topology.sentinels,
      name: topology.name,
      role: 'master',
      ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      // Not ioredis's failoverDetector: its disconnect on +switch-master, arriving while a
      // reconnection is asking the Sentinels, ends the client for good ("Connection is closed."
      // ever after; CI saw it). A killed or demoted primary closes its connections, which is
      // what makes ioredis ask the Sentinels again.
      sentinelRetryStrategy: options.failFast
        ? () => null
        : (attempt: number) => Math.min(attempt * 100, 1000),
    });
  }
  return new Redis({ ...common, host: topology.host, port: topology.port });
}

/**
 * Reconnects a client that ioredis gave up on while the store is still open: ioredis ends a client
 * for good when a reconnection attempt fails in some ways (a Sentinel answer racing a disconnect),
 * and the proxy must resume by itself whatever happened underneath.
 */
export function keepConnected(client: RedisClient, isClosing: () => boolean): void {
  client.on('end', () => {
    if (isClosing()) return;
    setTimeout(() => {
      if (!isClosing() && client.status === 'end') client.connect().catch(() => undefined);
    }, 500).unref();
  });
}

/**
 * QUIT, bounded: a node that does not answer (a Cluster mid-failover) must not hold the shutdown;
 * disconnect() then also ends every reconnection attempt.
 */
export async function closeClient(client: RedisClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, 1000);
    }),
  ]);
  clearTimeout(timer);
  disconnectClient(client);
}

/**
 * disconnect(), for good. A Cluster client of ioredis 5 re-arms its slots-refresh timer when a
 * refresh that was in flight at disconnect() ends, and that timer then fires every
 * slotsRefreshInterval for ever, holding the process open (CI saw a test file never end). A
 * refresh asked for now queues behind the one in flight; when it was queued (its callback comes
 * later, not at once), disconnecting again clears the re-armed timer.
 */
export function disconnectClient(client: RedisClient): void {
  client.disconnect();
  if (!(client instanceof Cluster)) return;
  let queued = false;
  client.refreshSlotsCache(() => {
    if (queued) client.disconnect();
  });
  queued = true;
}

/** Connects (or fails with STORE_CONNECTION_FAILED) and defines the store's scripts. */
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisContext> {
  const redis = createClient(options);
  // Without a listener ioredis would report connection errors as unhandled; callers see them as
  // rejected commands instead.
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
    // Cluster's connect resolves before a command could fail on the credentials; PING tells.
    await redis.ping();
  } catch (error) {
    disconnectClient(redis);
    throw proxyError(
      'STORE_CONNECTION_FAILED',
      describeTopology(options.topology),
      explain(lastError ?? (error as Error), options),
    );
  }
  for (const [name, script] of Object.entries(scripts)) {
    redis.defineCommand(`ap_${name}`, {
      numberOfKeys: script.keys.length + script.extraKeys,
      lua: script.lua,
    });
  }
  const keys = storeKeys(options.prefix);
  // KEYS (declared, then the caller's), then ARGV: the change channel first.
  const scriptArgs = (
    name: ScriptName,
    args: readonly (string | number)[],
    extraKeys: string[] = [],
  ) => [...scripts[name].keys.map((key) => keys.of(key)), ...extraKeys, keys.changes, ...args];
  const run = async (
    name: ScriptName,
    args: readonly (string | number)[],
    extraKeys: string[] = [],
  ) => {
    // defineCommand above added one method per script name.
    const command = (redis as unknown as Record<string, ScriptCommand>)[
      `ap_${name}`
    ] as ScriptCommand;
    return command.call(redis, ...scriptArgs(name, args, extraKeys));
  };
  const change = async (name: ScriptName, ...args: (string | number)[]) =>
    throwIfError(await run(name, args));
  const waitReplicas = options.waitReplicas ?? 0;
  const durableRun = async (name: ScriptName, args: readonly (string | number)[]) => {
    if (waitReplicas === 0) return run(name, args);
    const pipeline = redis.pipeline() as unknown as Record<string, ScriptCommand> & {
      wait(replicas: number, timeoutMs: number): unknown;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    (pipeline[`ap_${name}`] as ScriptCommand).call(pipeline, ...scriptArgs(name, args));
    pipeline.wait(waitReplicas, WAIT_TIMEOUT_MS);
    const [[scriptError, reply] = [null, undefined], [waitError, acknowledged] = [null, 0]] =
      (await pipeline.exec()) ?? [];
    if (scriptError) throw scriptError;
    if (waitError) throw waitError;
    if ((acknowledged as number) < waitReplicas) {
      throw new Error(
        `commit acknowledged by ${acknowledged} of ${waitReplicas} replicas within ${WAIT_TIMEOUT_MS} ms`,
      );
    }
    return reply;
  };
  return {
    redis,
    keys,
    run,
    change,
    durableRun,
    durableChange: async (name, ...args) => throwIfError(await durableRun(name, args)),
  };
}
