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
  const nodes = await startAll(
    // The bus port is the client port + 10000 unless named: a port another test's freePort may
    // hand out meanwhile (CI saw a proxy refused its port by a cluster bus).
    Array.from({ length: 3 * (1 + replicas) }, () =>
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
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  try {
    await promisify(execFile)('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await eventually(async () => {
      const states = (await Promise.all(
        nodes.map((node) => askRedis(node.port, 'CLUSTER', 'INFO')),
      )) as string[];
      return states.every((info) => info.includes('cluster_state:ok'));
    }, 20_000);
  } catch (error) {
    // Nothing may be left running: the test file would never end.
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
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
