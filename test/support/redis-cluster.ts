import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { HostPort } from '../../src/config/parsers.ts';
import { eventually } from './client.ts';
import { askRedis, type RedisServer, startAll, startRedisServer } from './redis-server.ts';

export interface RedisCluster {
  nodes: RedisServer[];
  seeds: HostPort[];
  /** The node that serves the slot of `key` now. */
  primaryOf(key: string): Promise<RedisServer>;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of three primaries (each with `replicas` replicas) on loopback ports,
 * created with `redis-cli --cluster create`; a node timeout of one second so a killed primary's
 * replica takes over quickly.
 */
export async function startRedisCluster(
  options: { replicas?: number } = {},
): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  // `redis-cli --cluster create` waits for the nodes to agree with no end of its own: each try is
  // bounded, and a failed one starts over on fresh nodes, so one bad start costs seconds, not the
  // test file.
  for (let attempt = 1; ; attempt++) {
    const nodes = await startNodes(3 * (1 + replicas));
    try {
      await createCluster(nodes, replicas);
      return clusterOf(nodes);
    } catch (error) {
      // Nothing may be left running: the test file would never end.
      await Promise.all(nodes.map((node) => node.stop()));
      if (attempt === CREATE_ATTEMPTS) throw error;
    }
  }
}

const CREATE_ATTEMPTS = 3;
const CREATE_TIMEOUT_MS = 15_000;

function startNodes(count: number): Promise<RedisServer[]> {
  return startAll(
    // The bus port is the client port + 10000 unless named: a port another test's freePort may
    // hand out meanwhile (CI saw a proxy refused its port by a cluster bus).
    Array.from({ length: count }, () =>
      startRedisServer({
        clusterBus: true,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '1000',
          '--repl-diskless-sync-delay',
          '0',
        ],
      }),
    ),
  );
}

async function createCluster(nodes: RedisServer[], replicas: number): Promise<void> {
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  try {
    await promisify(execFile)(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: CREATE_TIMEOUT_MS, killSignal: 'SIGKILL' },
    );
  } catch (error) {
    const { stdout, killed } = error as { stdout?: string; killed?: boolean };
    const why = killed ? `did not finish within ${CREATE_TIMEOUT_MS} ms` : 'failed';
    throw new Error(`redis-cli --cluster create ${why}: ${String(stdout ?? '').slice(-2000)}`);
  }
  await eventually(async () => {
    const states = (await Promise.all(
      nodes.map((node) => askRedis(node.port, 'CLUSTER', 'INFO')),
    )) as string[];
    return states.every((info) => info.includes('cluster_state:ok'));
  }, 10_000);
}

function clusterOf(nodes: RedisServer[]): RedisCluster {
  return {
    nodes,
    seeds: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    async primaryOf(key) {
      const seed = nodes[0]?.port ?? 0;
      const slot = (await askRedis(seed, 'CLUSTER', 'KEYSLOT', key)) as number;
      const ranges = (await askRedis(seed, 'CLUSTER', 'SLOTS')) as [
        number,
        number,
        [string, number],
      ][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const port = range?.[2][1];
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no node serves slot ${slot}`);
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}
