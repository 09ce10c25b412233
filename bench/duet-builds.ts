/**
 * A duet (bench/duet.ts) of two builds of the proxy with the same settings: `DUET_BUILDS` names two
 * checkouts, each built (`npm run build`), such as `git worktree add /tmp/before HEAD~1`; the same
 * directory twice is the A/A run that shows the duet's own spread. `DUET_ENV` (JSON) sets both
 * proxies' environment (default: metrics and access log on), `BENCH_ROUNDS` (default 12) and
 * `BENCH_SECONDS` (default 4) size the run, `DUET_PATH` picks the backend path (default `/small`,
 * 100 bytes; `/mib` for 1 MiB bodies). SQLite, 50 connections each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startProxyProcess } from '../test/support/proxy-process.ts';
import { duet } from './duet.ts';
import { runLoad } from './load.ts';
import { BUYER_HEADERS, startParties, variantEnv } from './variants.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const builds = (process.env.DUET_BUILDS ?? '').split(',').map((dir) => resolve(dir));
if (builds.length !== 2) throw new Error('DUET_BUILDS: two checkouts, comma-separated');
const env = JSON.parse(process.env.DUET_ENV ?? '{}') as Record<string, string>;
const path = process.env.DUET_PATH ?? '/small';
const dir = mkdtempSync(join(tmpdir(), 'ap-duet-'));
const parties = await startParties();

async function startBuild(build: string, index: number) {
  // Each build seeds its own file: an older build refuses a schema newer than its own.
  const { seedBenchStore } = (await import(
    join(build, 'bench/seed.ts')
  )) as typeof import('./seed.ts');
  const proxy = await startProxyProcess(
    await variantEnv(dir, index, parties, env, seedBenchStore),
    {
      stdoutFile: join(dir, `${index}.log`),
      main: join(build, 'dist/src/main.js'),
    },
  );
  return { url: `${proxy.url}/bench${path}`, stop: () => proxy.stop() };
}

const [a, b] = [await startBuild(builds[0] as string, 0), await startBuild(builds[1] as string, 1)];
const load = (url: string, seconds: number) =>
  runLoad(url, { connections: 50, seconds, headers: BUYER_HEADERS });
await Promise.all([load(a.url, 3), load(b.url, 3)]);
const result = await duet(
  () => load(a.url, SECONDS),
  () => load(b.url, SECONDS),
  ROUNDS,
  (ofA, ofB, round) =>
    console.log(
      `round ${round + 1}: ${ofA.requestsPerSec.toFixed(0)} vs ${ofB.requestsPerSec.toFixed(0)} req/s`,
    ),
);
console.log(
  `${builds[0]} / ${builds[1]}: × ${result.ratio.toFixed(3)} (median of ${ROUNDS} rounds; ${result.ratios.map((r) => r.toFixed(2)).join(' ')})`,
);
await a.stop();
await b.stop();
await parties.stop();
rmSync(dir, { recursive: true, force: true });
