/**
 * `npm run bench`: accounting-proxy against the bare forwarder (http-proxy + keep-alive agent) and
 * the backend itself, on 127.0.0.1, interleaved rounds, medians. Reports; never fails CI.
 * BENCH_ROUNDS (default 5), BENCH_SECONDS (default 4), BENCH_WARMUP_SECONDS (default 2) and
 * BENCH_DUET_ROUNDS (default 6 × BENCH_ROUNDS) size the run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../config.ts';
import { freePort } from '../test/support/free-port.ts';
import { keyrockUser, startFakeIdm } from '../test/support/idm.ts';
import {
  databaseEnv,
  type ProxyProcess,
  startProxyProcess,
} from '../test/support/proxy-process.ts';
import { startRedisCluster } from '../test/support/redis-cluster.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { duet, median } from './duet.ts';
import { type LoadResult, loadGenerator, runLoad } from './load.ts';
import { cpuMicros, startChild } from './processes.ts';
import { seedBenchStore } from './seed.ts';
import { sqliteDriverEnvs } from './sqlite-drivers.ts';
import { streamThrough } from './stream.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const DUET_ROUNDS = Number(process.env.BENCH_DUET_ROUNDS ?? 6 * ROUNDS);
const DRIVER_ROUNDS = Number(process.env.BENCH_DRIVER_ROUNDS ?? 2 * ROUNDS);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** The process whose CPU is charged to this configuration. */
  pid?: number | undefined;
  /** The store's processes (redis-server nodes), counted apart. */
  storePids?: number[];
}

interface Measured extends LoadResult {
  cpuMicrosPerRequest: number;
  storeCpuMicrosPerRequest: number;
}

const storeCpu = (pids: number[] = []) => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);

async function measure(target: Target, connections: number): Promise<Measured> {
  const before = target.pid ? cpuMicros(target.pid) : 0;
  const storeBefore = storeCpu(target.storePids);
  const result = await runLoad(target.url, {
    connections,
    seconds: SECONDS,
    headers: target.headers ?? {},
  });
  const used = target.pid ? cpuMicros(target.pid) - before : 0;
  const storeUsed = storeCpu(target.storePids) - storeBefore;
  return {
    ...result,
    cpuMicrosPerRequest: result.requests ? used / result.requests : 0,
    storeCpuMicrosPerRequest: result.requests ? storeUsed / result.requests : 0,
  };
}

// Unmeasured: the first seconds of a process under load pay for JIT compilation and for growing
// its heap and its connection pools, which is start-up cost rather than per-request cost.
async function warmUp(targets: Target[], connections: number): Promise<void> {
  for (const target of targets) {
    await runLoad(target.url, {
      connections,
      seconds: WARMUP_SECONDS,
      headers: target.headers ?? {},
    });
  }
}

/**
 * Runs every target once per round and keeps the medians. Each round starts one target later
 * (A B C, B C A, C A B …): on two shared cores a run's result depends on the run before it (at
 * 1 MiB, accounting-proxy measured 0.84 × bare when always run after it, 1.12 × when always run
 * before it), so no target may always follow the same one.
 */
async function scenario(targets: Target[], connections: number) {
  const runs = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
  await warmUp(targets, connections);
  for (let round = 0; round < ROUNDS; round++) {
    const shift = round % targets.length;
    for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      const result = await measure(target, connections);
      runs.get(target.name)?.push(result);
      process.stderr.write(
        `  round ${round + 1} ${target.name}: ${result.requestsPerSec.toFixed(0)} req/s\n`,
      );
    }
  }
  const summary: Record<string, Measured> = {};
  roundsOf.set(summary, runs);
  for (const [name, results] of runs) {
    const pick = (key: keyof Measured) => median(results.map((r) => r[key]));
    summary[name] = {
      requestsPerSec: pick('requestsPerSec'),
      p50Ms: pick('p50Ms'),
      p99Ms: pick('p99Ms'),
      mbPerSec: pick('mbPerSec'),
      requests: pick('requests'),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      cpuMicrosPerRequest: pick('cpuMicrosPerRequest'),
      storeCpuMicrosPerRequest: pick('storeCpuMicrosPerRequest'),
    };
  }
  return summary;
}

/** The duet of two targets (bench/duet.ts), after the warm-up of each. */
async function duetOf(a: Target, b: Target, connections: number, rounds: number) {
  await warmUp([a, b], connections);
  const result = await duet(
    () => measure(a, connections),
    () => measure(b, connections),
    rounds,
    (ofA, ofB, round) =>
      process.stderr.write(
        `  duet round ${round + 1}: ${ofA.requestsPerSec.toFixed(0)} vs ${ofB.requestsPerSec.toFixed(0)} req/s\n`,
      ),
  );
  return {
    ratio: result.ratio,
    ratios: result.ratios,
    requestsPerSec: [result.ofA, result.ofB].map((runs) =>
      median(runs.map((r) => r.requestsPerSec)),
    ),
    cpuMicrosPerRequest: [result.ofA, result.ofB].map((runs) =>
      median(runs.map((r) => r.cpuMicrosPerRequest)),
    ),
  };
}

/** Each summary's runs, round by round. */
const roundsOf = new WeakMap<Record<string, Measured>, Map<string, Measured[]>>();

/**
 * Median over the rounds of a's throughput over b's in the same round: on this machine a round's
 * figures move together by up to 2× from one round to the next, which a ratio of medians keeps.
 */
function pairedRatio(summary: Record<string, Measured>, a: string, b: string): number {
  const runs = roundsOf.get(summary);
  const as = runs?.get(a) ?? [];
  const bs = runs?.get(b) ?? [];
  return median(as.map((run, i) => run.requestsPerSec / (bs[i]?.requestsPerSec ?? Number.NaN)));
}

function table(title: string, summary: Record<string, Measured>, reference: string) {
  const ref = summary[reference];
  const direct = summary.direct;
  console.log(`\n${title}`);
  console.log(
    '| configuration | req/s | p50 ms | p99 ms | MB/s | CPU µs/req | Redis CPU µs/req | × bare | × direct | errors |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const [name, m] of Object.entries(summary)) {
    const vsRef = ref ? (m.requestsPerSec / ref.requestsPerSec).toFixed(2) : '-';
    const vsDirect = direct ? (m.requestsPerSec / direct.requestsPerSec).toFixed(2) : '-';
    console.log(
      `| ${name} | ${m.requestsPerSec.toFixed(0)} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${m.mbPerSec.toFixed(1)} | ${m.cpuMicrosPerRequest ? m.cpuMicrosPerRequest.toFixed(0) : '-'} | ${m.storeCpuMicrosPerRequest ? m.storeCpuMicrosPerRequest.toFixed(1) : '-'} | ${vsRef} | ${vsDirect} | ${m.errors} |`,
    );
  }
}

async function main() {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ap-bench-'));
  const backend = await startChild('./backend.ts', {});
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const bare = await startChild('./bare-forwarder.ts', { TARGET: backendUrl });
  const idm = await startFakeIdm();
  idm.users.set('buyer-token', keyrockUser('buyer', 'bench-app'));
  idm.users.set('admin-token', keyrockUser('admin', 'bench-app'));
  const redis = await startRedisServer();
  // WAIT_REPLICAS=1 needs a replica to acknowledge; the Cluster row runs on three primaries.
  const replica = await startRedisServer({
    args: ['--replicaof', '127.0.0.1', String(redis.port)],
  });
  const cluster = await startRedisCluster();
  const databases = {
    sqlite: {
      ...defaultConfig().database,
      type: 'sqlite' as const,
      name: join(dir, 'bench.sqlite'),
    },
    // Its own file: loaded at the same time as the proxy above (the duet), the two would
    // otherwise wait for each other's write lock.
    sqlitePlain: {
      ...defaultConfig().database,
      type: 'sqlite' as const,
      name: join(dir, 'bench-plain.sqlite'),
    },
    // The two drivers' proxies, loaded at once too (their duet): a file each.
    sqliteNode: {
      ...defaultConfig().database,
      type: 'sqlite' as const,
      name: join(dir, 'bench-node-sqlite.sqlite'),
    },
    sqliteBetter: {
      ...defaultConfig().database,
      type: 'sqlite' as const,
      name: join(dir, 'bench-better-sqlite3.sqlite'),
    },
    redis: {
      ...defaultConfig().database,
      type: 'redis' as const,
      name: '0',
      redis_host: '127.0.0.1',
      redis_port: redis.port,
      redis_prefix: 'bench:',
    },
    redisWait: {
      ...defaultConfig().database,
      type: 'redis' as const,
      name: '0',
      redis_host: '127.0.0.1',
      redis_port: redis.port,
      redis_prefix: 'bench-wait:',
      redis_wait_replicas: 1,
    },
    cluster: {
      ...defaultConfig().database,
      type: 'redis' as const,
      name: '0',
      redis_cluster: cluster.seeds,
      redis_prefix: 'bench:',
    },
  };
  const proxies: Record<string, ProxyProcess> = {};
  for (const database of Object.values(databases)) {
    await seedBenchStore(database, backendUrl);
  }
  // node:sqlite and better-sqlite3 on this Node, or why they cannot both run here.
  const drivers = sqliteDriverEnvs();
  // As `npm start` runs them: the ops listener and the access log on (the access log to a file,
  // as an operator's log shipper reads it), and beside them the same proxy without either.
  const variants: Record<
    string,
    { database: keyof typeof databases; env: Record<string, string> }
  > = {
    sqlite: { database: 'sqlite', env: {} },
    sqlitePlain: {
      database: 'sqlitePlain',
      env: { ACCOUNTING_PROXY_OPS_PORT: '0', ACCOUNTING_PROXY_ACCESS_LOG: 'false' },
    },
    sqliteWorkers: { database: 'sqlite', env: { ACCOUNTING_PROXY_WORKERS: '2' } },
    redis: { database: 'redis', env: {} },
    redisWait: { database: 'redisWait', env: {} },
    cluster: { database: 'cluster', env: {} },
    ...(typeof drivers === 'object' && {
      sqliteNode: { database: 'sqliteNode', env: drivers['node:sqlite'] },
      sqliteBetter: { database: 'sqliteBetter', env: drivers['better-sqlite3'] },
    }),
  };
  for (const [name, variant] of Object.entries(variants)) {
    proxies[name] = await startProxyProcess(
      {
        ...databaseEnv(databases[variant.database]),
        ACCOUNTING_PROXY_IDM_URL: idm.url,
        ACCOUNTING_PROXY_TOKEN_CACHE_TTL: '3600',
        ACCOUNTING_PROXY_LOG_LEVEL: 'info',
        ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
        ...variant.env,
      },
      { stdoutFile: join(dir, `${name}.log`) },
    );
  }
  const sqlite = proxies.sqlite as ProxyProcess;
  const sqlitePlain = proxies.sqlitePlain as ProxyProcess;
  const sqliteWorkers = proxies.sqliteWorkers as ProxyProcess;
  const redisProxy = proxies.redis as ProxyProcess;
  const redisWaitProxy = proxies.redisWait as ProxyProcess;
  const clusterProxy = proxies.cluster as ProxyProcess;
  const buyer = { 'x-auth-token': 'buyer-token', 'x-api-key': 'key-call' };
  const admin = { 'x-auth-token': 'admin-token' };

  try {
    console.log(
      `accounting-proxy benchmark: ${cpus().length} cores, load by ${loadGenerator}, ${ROUNDS} rounds × ${SECONDS} s`,
    );
    process.stderr.write('small bodies (100 B, 50 connections)\n');
    // Small bodies through the SQLite proxy with metrics and access log and without: rows of the
    // table and the two sides of the duet.
    const sqliteSmall: Target = {
      name: 'accounting-proxy SQLite',
      url: `${sqlite.url}/bench/small`,
      headers: buyer,
      pid: sqlite.child.pid,
    };
    const plainSmall: Target = {
      name: 'accounting-proxy SQLite, no metrics or access log',
      url: `${sqlitePlain.url}/bench/small`,
      headers: buyer,
      pid: sqlitePlain.child.pid,
    };
    const small = await scenario(
      [
        { name: 'direct', url: `${backendUrl}/small` },
        {
          name: 'bare http-proxy',
          url: `http://127.0.0.1:${bare.port}/small`,
          pid: bare.child.pid,
        },
        sqliteSmall,
        plainSmall,
        {
          name: 'accounting-proxy SQLite, 2 workers',
          url: `${sqliteWorkers.url}/bench/small`,
          headers: buyer,
          pid: sqliteWorkers.child.pid,
        },
        {
          name: 'accounting-proxy SQLite, unmetered',
          url: `${sqlite.url}/bench/small`,
          headers: admin,
          pid: sqlite.child.pid,
        },
        {
          name: 'accounting-proxy Redis',
          url: `${redisProxy.url}/bench/small`,
          headers: buyer,
          pid: redisProxy.child.pid,
          storePids: [redis.pid],
        },
        {
          name: 'accounting-proxy Redis, WAIT_REPLICAS=1',
          url: `${redisWaitProxy.url}/bench/small`,
          headers: buyer,
          pid: redisWaitProxy.child.pid,
          storePids: [redis.pid, replica.pid],
        },
        {
          name: 'accounting-proxy Redis Cluster (3 primaries)',
          url: `${clusterProxy.url}/bench/small`,
          headers: buyer,
          pid: clusterProxy.child.pid,
          storePids: cluster.nodes.map((node) => node.pid),
        },
      ],
      50,
    );
    process.stderr.write('metrics and access log: the SQLite proxy with and without, at once\n');
    const observability = await duetOf(sqliteSmall, plainSmall, 50, DUET_ROUNDS);
    const driverTarget = (name: string, driver: string): Target | undefined => {
      const proxy = proxies[name];
      return (
        proxy && {
          name: `accounting-proxy SQLite (${driver})`,
          url: `${proxy.url}/bench/small`,
          headers: buyer,
          pid: proxy.child.pid,
        }
      );
    };
    const nodeSqlite = driverTarget('sqliteNode', 'node:sqlite');
    const betterSqlite3 = driverTarget('sqliteBetter', 'better-sqlite3');
    process.stderr.write('SQLite drivers: node:sqlite and better-sqlite3, at once\n');
    const driverDuet =
      nodeSqlite && betterSqlite3
        ? await duetOf(nodeSqlite, betterSqlite3, 50, DRIVER_ROUNDS)
        : undefined;
    process.stderr.write('1 MiB bodies (10 connections)\n');
    const large = await scenario(
      [
        { name: 'direct', url: `${backendUrl}/mib` },
        { name: 'bare http-proxy', url: `http://127.0.0.1:${bare.port}/mib`, pid: bare.child.pid },
        {
          name: 'accounting-proxy SQLite',
          url: `${sqlite.url}/bench/mib`,
          headers: buyer,
          pid: sqlite.child.pid,
        },
      ],
      10,
    );
    process.stderr.write('streaming 10 × 1 GiB\n');
    const stream = await streamThrough({
      url: `${sqlite.url}/bench/gib`,
      headers: { 'x-auth-token': 'buyer-token', 'x-api-key': 'key-mb' },
      clients: 10,
      proxy: sqlite,
      database: databases.sqlite,
      apiKey: 'key-mb',
    });

    const ratio = (m: Record<string, Measured>, a: string, b: string) =>
      (m[a]?.requestsPerSec ?? 0) / (m[b]?.requestsPerSec ?? 1);
    // One call per token per process: the two workers each ask once.
    const processes = Object.keys(proxies).length + 1;
    const idmCallsPerToken = Math.max(...idm.calls.values()) / processes;
    const targets = [
      {
        target: 'small, SQLite ≥ 0.80 × bare',
        value: ratio(small, 'accounting-proxy SQLite', 'bare http-proxy'),
        met: ratio(small, 'accounting-proxy SQLite', 'bare http-proxy') >= 0.8,
      },
      {
        target: 'small, Redis ≥ 0.75 × bare',
        value: ratio(small, 'accounting-proxy Redis', 'bare http-proxy'),
        met: ratio(small, 'accounting-proxy Redis', 'bare http-proxy') >= 0.75,
      },
      {
        target: 'small, p99 ≤ bare p99 + 2 ms (SQLite)',
        value:
          (small['accounting-proxy SQLite']?.p99Ms ?? 0) - (small['bare http-proxy']?.p99Ms ?? 0),
        met:
          (small['accounting-proxy SQLite']?.p99Ms ?? 0) <=
          (small['bare http-proxy']?.p99Ms ?? 0) + 2,
      },
      {
        target: 'small, p99 ≤ bare p99 + 2 ms (Redis)',
        value:
          (small['accounting-proxy Redis']?.p99Ms ?? 0) - (small['bare http-proxy']?.p99Ms ?? 0),
        met:
          (small['accounting-proxy Redis']?.p99Ms ?? 0) <=
          (small['bare http-proxy']?.p99Ms ?? 0) + 2,
      },
      {
        target: 'small: metrics and access log cost ≤ 5 % (duet: × without them, ≥ 0.95)',
        value: observability.ratio,
        met: observability.ratio >= 0.95,
      },
      ...(driverDuet
        ? [
            {
              target: 'small: node:sqlite ≥ 0.95 × better-sqlite3 (duet, same Node)',
              value: driverDuet.ratio,
              met: driverDuet.ratio >= 0.95,
            },
          ]
        : []),
      {
        target: '1 MiB ≥ 0.90 × bare',
        value: ratio(large, 'accounting-proxy SQLite', 'bare http-proxy'),
        met: ratio(large, 'accounting-proxy SQLite', 'bare http-proxy') >= 0.9,
      },
      {
        target: 'stream 10 × 1 GiB: peak RSS < 150 MB',
        value: stream.peakRssMb,
        met: stream.peakRssMb < 150,
      },
      {
        target: 'stream: metered MB = bytes sent / 2^20',
        value: stream.meteredMb,
        met: stream.meteredMb === stream.bytes / 1048576,
      },
      {
        target: 'IdM: one call per token per process',
        value: idmCallsPerToken,
        met: idmCallsPerToken === 1,
      },
    ];

    table('Small bodies: 100 B, 50 connections (medians)', small, 'bare http-proxy');
    table('1 MiB bodies: 10 connections (medians)', large, 'bare http-proxy');
    const unmetered = small['accounting-proxy SQLite, unmetered'];
    const metered = small['accounting-proxy SQLite'];
    if (unmetered && metered) {
      console.log(
        `\nCommit-before-end cost (SQLite, small): ${metered.requestsPerSec.toFixed(0)} req/s metered vs ${unmetered.requestsPerSec.toFixed(0)} unmetered (× ${(metered.requestsPerSec / unmetered.requestsPerSec).toFixed(2)}), CPU ${metered.cpuMicrosPerRequest.toFixed(0)} vs ${unmetered.cpuMicrosPerRequest.toFixed(0)} µs/request`,
      );
    }
    console.log(
      `\nMetrics and access log (SQLite, small, both proxies loaded at once, ${DUET_ROUNDS} rounds): × ${observability.ratio.toFixed(3)} the requests without them (median; rounds ${observability.ratios.map((r) => r.toFixed(2)).join(' ')}), CPU ${observability.cpuMicrosPerRequest.map((c) => c.toFixed(0)).join(' vs ')} µs/request; run in turn: × ${pairedRatio(small, 'accounting-proxy SQLite', 'accounting-proxy SQLite, no metrics or access log').toFixed(3)} (median per round)`,
    );
    console.log(
      driverDuet
        ? `\nSQLite drivers on Node ${process.versions.node} (small, every request metered, both proxies loaded at once, ${DRIVER_ROUNDS} rounds): node:sqlite × ${driverDuet.ratio.toFixed(3)} the requests of better-sqlite3 (median; rounds ${driverDuet.ratios.map((r) => r.toFixed(2)).join(' ')}), ${driverDuet.requestsPerSec.map((r) => r.toFixed(0)).join(' vs ')} req/s, CPU ${driverDuet.cpuMicrosPerRequest.map((c) => c.toFixed(0)).join(' vs ')} µs/request`
        : `\nSQLite drivers: not compared (${drivers})`,
    );
    console.log(
      `\nStreaming 10 × 1 GiB through accounting-proxy (SQLite, megabyte): ${(stream.bytes / 1048576).toFixed(0)} MiB in ${stream.seconds.toFixed(1)} s, peak proxy RSS ${stream.peakRssMb.toFixed(1)} MB, metered ${stream.meteredMb} MB`,
    );
    console.log('\n| target | value | met |');
    console.log('|---|---|---|');
    for (const t of targets)
      console.log(`| ${t.target} | ${Number(t.value.toFixed(3))} | ${t.met ? 'yes' : 'NO'} |`);
    console.log(`\nTotal ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const results = join(here('./results'));
    mkdirSync(results, { recursive: true });
    const file = join(results, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, loadGenerator, rounds: ROUNDS, seconds: SECONDS, small, observability, large, stream, targets }, null, 2)}\n`,
    );
    console.log(`Results: ${file}`);
  } finally {
    for (const proxy of Object.values(proxies)) await proxy.stop();
    backend.child.kill();
    bare.child.kill();
    await idm.close();
    await replica.stop();
    await redis.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
