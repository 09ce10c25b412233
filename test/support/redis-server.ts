import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

export interface RedisServer {
  port: number;
  pid: number;
  /** Kills the server at once (SIGKILL), as a crashed node. */
  kill(): Promise<void>;
  /** Stops the server (SIGTERM, then waits for exit) and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Reuse a port, to restart a server where clients expect it. */
  port?: number;
  /** Keep data in this directory (append-only file) across a stop and start. */
  persistIn?: string;
  /** More redis-server arguments (cluster mode, replicaof, a password, TLS). */
  args?: string[];
  /** A Cluster node: its bus gets a port of its own (`--cluster-port`), not port + 10000. */
  clusterBus?: boolean;
}

/**
 * Starts a real redis-server (the Debian package) on a loopback port; without `persistIn` it keeps
 * nothing on disk.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // A free port may be taken before redis-server binds it (tests run in parallel): ports this
  // function picked itself are picked again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      const retryable =
        options.port === undefined && (error as Error).message.includes('already in use');
      if (!retryable || attempt === 3) throw error;
    }
  }
}

async function startOnce(options: RedisServerOptions): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const bus = options.clusterBus ? ['--cluster-port', String(await freePort())] : [];
  const dir = options.persistIn ?? mkdtempSync(join(tmpdir(), 'ap-redis-'));
  const persistence = options.persistIn
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      ...persistence,
      '--dir',
      dir,
      ...bus,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.once('error', (error) =>
      reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
    );
    child.once('exit', (code) => {
      // A failed start leaves its directory behind otherwise.
      if (!options.persistIn) rmSync(dir, { recursive: true, force: true });
      reject(new Error(`redis-server exited (${code}): ${output}`));
    });
  });
  child.stdout?.resume();
  return {
    port,
    pid: child.pid ?? 0,
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (!options.persistIn) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts them all; if one fails, stops the others before failing (so no process is left behind). */
export async function startAll<T extends { stop(): Promise<void> }>(
  starts: Promise<T>[],
): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  await Promise.all(settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
  throw failed.reason;
}

/** One command to the Redis server (or Sentinel) on a loopback port, on a connection of its own. */
export async function askRedis(port: number, ...command: [string, ...(string | number)[]]) {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}
