/**
 * What a body tap costs. Two proxies as `npm start` runs them (SQLite, metrics and access log on,
 * the `token` unit loaded), each on its own file:
 * - a duet on a short streamed LLM answer (/sse, 41 SSE chunks): one proxy meters it with `token`
 *   (a `lines` tap parsing every event), the other with `call` (no tap): the median of the
 *   per-round ratios of their requests is the tap's cost;
 * - 10 clients streaming 1 GiB each, measured from outside the process (peak RSS): `megabyte` on
 *   a binary body, then `token` on a 1 GiB SSE stream whose usage comes last.
 * `node --import tsx bench/taps.ts` after `npm run build`; BENCH_ROUNDS, BENCH_SECONDS; TAPS_STREAMS=0
 * skips the streams, TAPS_DUET=0 the duet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../config.ts';
import { startProxyProcess } from '../test/support/proxy-process.ts';
import { duet } from './duet.ts';
import { runLoad } from './load.ts';
import { cpuMicros } from './processes.ts';
import { streamThrough } from './stream.ts';
import { startParties, variantEnv } from './variants.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'ap-taps-'));
const parties = await startParties();
const env = { ACCOUNTING_PROXY_MODULES: 'call,megabyte,millisecond,token' };
const start = async (index: number) => {
  const proxyEnv = await variantEnv(dir, index, parties, env);
  return {
    proxy: await startProxyProcess(proxyEnv, { stdoutFile: join(dir, `${index}.log`) }),
    database: { ...defaultConfig().database, name: join(dir, `${index}.sqlite`) },
  };
};
const [tapped, plain] = [await start(0), await start(1)];
const buyer = (apiKey: string) => ({ 'x-auth-token': 'buyer-token', 'x-api-key': apiKey });

const measure = async (target: typeof tapped, apiKey: string) => {
  const before = cpuMicros(target.proxy.child.pid);
  const result = await runLoad(`${target.proxy.url}/bench/sse`, {
    connections: 50,
    seconds: SECONDS,
    headers: buyer(apiKey),
  });
  if (result.errors > 0) throw new Error(`${result.errors} failed requests`);
  return { ...result, cpu: (cpuMicros(target.proxy.child.pid) - before) / result.requests };
};
if (process.env.TAPS_DUET !== '0') {
  await measure(tapped, 'key-token');
  await measure(plain, 'key-call');
  const sse = await duet(
    () => measure(tapped, 'key-token'),
    () => measure(plain, 'key-call'),
    ROUNDS,
    (a, b, round) =>
      process.stderr.write(
        `  sse round ${round + 1}: token ${a.requestsPerSec.toFixed(0)} vs call ${b.requestsPerSec.toFixed(0)} req/s\n`,
      ),
  );
  const median = (values: number[]) =>
    [...values].sort((p, q) => p - q)[Math.floor(values.length / 2)] ?? 0;
  console.log(
    `Node ${process.versions.node}, /sse (41 SSE chunks, ${ROUNDS} rounds of ${SECONDS} s, 50 connections): token × ${sse.ratio.toFixed(3)} the requests of call (rounds ${sse.ratios.map((r) => r.toFixed(2)).join(' ')}); ${median(sse.ofA.map((r) => r.requestsPerSec)).toFixed(0)} vs ${median(sse.ofB.map((r) => r.requestsPerSec)).toFixed(0)} req/s, CPU ${median(sse.ofA.map((r) => r.cpu)).toFixed(0)} vs ${median(sse.ofB.map((r) => r.cpu)).toFixed(0)} µs/request`,
  );
}

await Promise.all([tapped.proxy.stop(), plain.proxy.stop()]);
if (process.env.TAPS_STREAMS !== '0') {
  // Each on a proxy of its own, fresh as after `npm start`: the bound is on what streaming adds.
  for (const [index, name, path, apiKey] of [
    [2, 'megabyte, binary', '/bench/gib', 'key-mb'],
    [3, 'token, SSE', '/bench/sse-gib', 'key-token'],
  ] as const) {
    const target = await start(index);
    const startRss = target.proxy.rss() / 1048576;
    const stream = await streamThrough({
      url: `${target.proxy.url}${path}`,
      headers: buyer(apiKey),
      clients: 10,
      proxy: target.proxy,
      database: target.database,
      apiKey,
    });
    console.log(
      `10 × 1 GiB (${name}): ${(stream.bytes / 1048576).toFixed(0)} MiB in ${stream.seconds.toFixed(1)} s, peak proxy RSS ${stream.peakRssMb.toFixed(1)} MB from ${startRss.toFixed(1)} MB before, metered ${stream.meteredMb}`,
    );
    await target.proxy.stop();
  }
}
await parties.stop();
rmSync(dir, { recursive: true, force: true });
