/**
 * A duet (bench/duet.ts) of two builds of the proxy with the same settings: `DUET_BUILDS` names two
 * checkouts, each built (`npm run build`), such as `git worktree add /tmp/before HEAD~1`; the same
 * directory twice is the A/A run that shows the duet's own spread. `DUET_ENV` (JSON) sets both
 * proxies' environment (default: metrics and access log on), `BENCH_ROUNDS` (default 12) and
 * `BENCH_SECONDS` (default 4) size the run. SQLite, small bodies, 50 connections each.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/support/free-port.ts';
import { START_FLAGS } from '../test/support/proxy-process.ts';
import { duet } from './duet.ts';
import { runLoad } from './load.ts';
import { BUYER_HEADERS, startParties, variantEnv } from './variants.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const builds = (process.env.DUET_BUILDS ?? '').split(',').map((dir) => resolve(dir));
if (builds.length !== 2) throw new Error('DUET_BUILDS: two checkouts, comma-separated');
const env = JSON.parse(process.env.DUET_ENV ?? '{}') as Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'ap-duet-'));
const parties = await startParties();

async function startBuild(build: string, index: number) {
  const port = await freePort();
  const log = join(dir, `${index}.log`);
  const child = spawn(process.execPath, [...START_FLAGS, join(build, 'dist/src/main.js')], {
    env: {
      ...process.env,
      ...(await variantEnv(dir, index, parties, env)),
      ACCOUNTING_PROXY_PORT: String(port),
      ACCOUNTING_PROXY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', openSync(log, 'a'), 'inherit'],
  });
  // Polling with a bound: the build's own stdout says when it listens.
  for (let tries = 0; !readFileSync(log, 'utf8').includes('accounting-proxy listening'); tries++) {
    if (tries > 600 || child.exitCode !== null) throw new Error(`${build} did not start`);
    await sleep(100);
  }
  return { url: `http://127.0.0.1:${port}/bench/small`, stop: () => child.kill() };
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
a.stop();
b.stop();
await parties.stop();
rmSync(dir, { recursive: true, force: true });
