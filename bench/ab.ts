import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startProxyProcess } from '../test/support/proxy-process.ts';
import { runLoad } from './load.ts';
import { cpuMicros } from './processes.ts';
import { BUYER_HEADERS, startParties, variantEnv, variantsFrom } from './variants.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'ap-ab-'));
const parties = await startParties();
// AB_VARIANTS (JSON: name → environment) replaces the four variants, for an experiment.
const variants = variantsFrom('AB_VARIANTS');
const proxies = [];
for (const [name, env] of Object.entries(variants)) {
  const proxy = await startProxyProcess(await variantEnv(dir, proxies.length, parties, env), {
    stdoutFile: join(dir, `${proxies.length}.log`),
  });
  // AB_PIN: each proxy (all its threads) on the second core, this process and its children (load,
  // backend, IdM) started under `taskset -c 0`: the proxies then share no core with the load.
  if (process.env.AB_PIN) execFileSync('taskset', ['-a', '-cp', '1', String(proxy.child.pid)]);
  proxies.push({ name, proxy, cpu: [] as number[], rps: [] as number[] });
}
const headers = BUYER_HEADERS;
// AB_RATE (requests per second): a fixed rate below saturation instead of wrk's flat out, so that
// the CPU per request is the proxy's own cost rather than its share of an overloaded machine.
const rate = Number(process.env.AB_RATE ?? 0);
const load = async (url: string, seconds: number) => {
  if (!rate) return runLoad(url, { connections: 50, seconds, headers });
  const result = await autocannon({
    url,
    connections: 20,
    duration: seconds,
    headers,
    overallRate: rate,
  });
  return { requests: result.requests.total, requestsPerSec: result.requests.average };
};
for (const p of proxies) await load(`${p.proxy.url}/bench/small`, 2);
for (let round = 0; round < ROUNDS; round++) {
  for (const p of [
    ...proxies.slice(round % proxies.length),
    ...proxies.slice(0, round % proxies.length),
  ]) {
    const before = cpuMicros(p.proxy.child.pid);
    const result = await load(`${p.proxy.url}/bench/small`, SECONDS);
    p.cpu.push((cpuMicros(p.proxy.child.pid) - before) / result.requests);
    p.rps.push(result.requestsPerSec);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
for (const p of proxies) {
  console.log(
    `${p.name}: ${median(p.rps).toFixed(0)} req/s, ${median(p.cpu).toFixed(1)} µs CPU/req (${p.cpu.map((c) => c.toFixed(0)).join(' ')})`,
  );
  await p.proxy.stop();
}
await parties.stop();
rmSync(dir, { recursive: true, force: true });
