/**
 * What a limit costs on the proxy path: two proxies as `npm start` runs them, each on its own
 * SQLite file (`LIMITS_STORE=redis`: each under its own prefix of one redis-server), loaded at
 * once with small bodies for the same `call` buy; on one the buy has a rate limit and a quota far
 * above what the run uses (every request admitted, each one store step before its exchange), on
 * the other none. The median of the per-round ratios of their requests is the limit's cost.
 * `node --import tsx bench/limits.ts` after `npm run build`; BENCH_ROUNDS, BENCH_SECONDS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, defaultConfig } from '../config.ts';
import { openStore } from '../src/store/open.ts';
import { databaseEnv, startProxyProcess } from '../test/support/proxy-process.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { duet } from './duet.ts';
import { runLoad } from './load.ts';
import { cpuMicros } from './processes.ts';
import { seedBenchStore } from './seed.ts';
import { BUYER_HEADERS, startParties, variantEnv } from './variants.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'ap-limits-'));
const parties = await startParties();
const redis = process.env.LIMITS_STORE === 'redis' ? await startRedisServer() : undefined;

const databaseOf = (index: number): Config['database'] =>
  redis
    ? {
        ...defaultConfig().database,
        type: 'redis',
        name: '0',
        redis_host: '127.0.0.1',
        redis_port: redis.port,
        redis_prefix: `bench-${index}:`,
      }
    : { ...defaultConfig().database, name: join(dir, `${index}.sqlite`) };

const start = async (index: number, limited: boolean) => {
  const database = databaseOf(index);
  const proxyEnv = await variantEnv(
    dir,
    index,
    parties,
    databaseEnv(database),
    redis ? (_sqlite, backendUrl) => seedBenchStore(database, backendUrl) : seedBenchStore,
  );
  if (limited) {
    const store = await openStore(database);
    await store.setLimits(
      '/bench',
      { rate: { limit: 1_000_000_000, per: 'second' }, quota: { amount: 1e15, period: 'month' } },
      { orderId: 'o1', productId: 'p1' },
    );
    await store.close();
  }
  return startProxyProcess(proxyEnv, { stdoutFile: join(dir, `${index}.log`) });
};
const [limited, unlimited] = [await start(0, true), await start(1, false)];

const measure = async (proxy: typeof limited) => {
  const before = cpuMicros(proxy.child.pid);
  const result = await runLoad(`${proxy.url}/bench/small`, {
    connections: 50,
    seconds: SECONDS,
    headers: BUYER_HEADERS,
  });
  if (result.errors > 0) throw new Error(`${result.errors} failed requests`);
  return { ...result, cpu: (cpuMicros(proxy.child.pid) - before) / result.requests };
};
await measure(limited);
await measure(unlimited);
const result = await duet(
  () => measure(limited),
  () => measure(unlimited),
  ROUNDS,
  (a, b, round) =>
    process.stderr.write(
      `  round ${round + 1}: limited ${a.requestsPerSec.toFixed(0)} vs unlimited ${b.requestsPerSec.toFixed(0)} req/s\n`,
    ),
);
const median = (values: number[]) =>
  [...values].sort((p, q) => p - q)[Math.floor(values.length / 2)] ?? 0;
console.log(
  `Node ${process.versions.node}, ${redis ? 'Redis' : 'SQLite'}, /small (${ROUNDS} rounds of ${SECONDS} s, 50 connections): a buy with a rate limit and a quota × ${result.ratio.toFixed(3)} the requests of one without (rounds ${result.ratios.map((r) => r.toFixed(2)).join(' ')}); ${median(result.ofA.map((r) => r.requestsPerSec)).toFixed(0)} vs ${median(result.ofB.map((r) => r.requestsPerSec)).toFixed(0)} req/s, CPU ${median(result.ofA.map((r) => r.cpu)).toFixed(0)} vs ${median(result.ofB.map((r) => r.cpu)).toFixed(0)} µs/request`,
);
await Promise.all([limited.stop(), unlimited.stop()]);
await parties.stop();
await redis?.stop();
rmSync(dir, { recursive: true, force: true });
