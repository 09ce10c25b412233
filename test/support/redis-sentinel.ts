import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPort } from '../../src/config/parsers.ts';
import { eventually } from './client.ts';
import { freePort } from './free-port.ts';
import { askRedis, type RedisServer, startAll, startRedisServer } from './redis-server.ts';

export const MASTER_NAME = 'accounting';

export interface SentinelGroup {
  /** The first primary, then its replicas. */
  servers: RedisServer[];
  sentinels: HostPort[];
  /** The server the Sentinels name as primary now. */
  primary(): Promise<RedisServer>;
  stop(): Promise<void>;
}

/** A real redis-sentinel (the Debian package) watching `primaryPort`, on a free port. */
async function startSentinel(
  primaryPort: number,
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ap-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  // Sentinel rewrites its configuration file as it learns the group: it must be its own.
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 5000`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('redis-sentinel', [config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('+monitor master')) resolve();
    });
    child.once('error', (error) =>
      reject(new Error(`cannot start redis-sentinel (is it installed?): ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`redis-sentinel exited (${code}): ${output}`)));
  });
  child.stdout?.resume();
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A Sentinel-managed group on loopback ports: a primary, `replicas` replicas and three Sentinels
 * (quorum 2, a primary is down after one second without answering).
 */
export async function startSentinelGroup(
  options: { replicas?: number } = {},
): Promise<SentinelGroup> {
  // A replica told to follow the new primary after a failover syncs at once, not after Redis's
  // default 5 s wait for more replicas to share a diskless transfer.
  const sync = ['--repl-diskless-sync-delay', '0'];
  const primary = await startRedisServer({ args: sync });
  const servers = [primary];
  let sentinels: { port: number; stop(): Promise<void> }[];
  try {
    servers.push(
      ...(await startAll(
        Array.from({ length: options.replicas ?? 1 }, () =>
          startRedisServer({ args: [...sync, '--replicaof', '127.0.0.1', String(primary.port)] }),
        ),
      )),
    );
    await eventually(
      async () =>
        ((await askRedis(primary.port, 'INFO', 'replication')) as string).includes(
          `connected_slaves:${servers.length - 1}`,
        ),
      10_000,
    );
    sentinels = await startAll([1, 2, 3].map(() => startSentinel(primary.port)));
  } catch (error) {
    // Nothing may be left running: the test file would never end.
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    servers,
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    async primary() {
      const [, port] = (await askRedis(
        sentinels[0]?.port ?? 0,
        'SENTINEL',
        'get-master-addr-by-name',
        MASTER_NAME,
      )) as [string, string];
      const server = servers.find((s) => s.port === Number(port));
      if (!server) throw new Error(`the Sentinels name an unknown primary on port ${port}`);
      return server;
    },
    async stop() {
      await Promise.all([...sentinels, ...servers].map((s) => s.stop()));
    },
  };
}
