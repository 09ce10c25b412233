/**
 * Young-generation garbage per request, counted rather than timed: the proxy under `npm start`'s
 * flags (a 1 MB semi-space: one scavenge per MB allocated) with `--trace-gc`, a warm-up, then
 * exactly GC_REQUESTS small-body requests; the scavenges in between, per variant. Unlike
 * throughput on a shared two-core machine, this does not move between runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startProxyProcess } from '../test/support/proxy-process.ts';
import { BUYER_HEADERS, startParties, variantEnv, variantsFrom } from './variants.ts';

const REQUESTS = Number(process.env.GC_REQUESTS ?? 40_000);
const dir = mkdtempSync(join(tmpdir(), 'ap-gc-'));
const parties = await startParties();
const variants = variantsFrom('GC_VARIANTS');
const headers = BUYER_HEADERS;
const send = (url: string, amount: number) => autocannon({ url, connections: 20, amount, headers });
// TRACE_FLAGS and TRACE_PATTERN count other V8 trace lines the same way (`--trace-deopt`,
// `deoptimizing`: code thrown away under load).
const flags = (process.env.TRACE_FLAGS ?? '--trace-gc').split(' ');
const pattern = new RegExp(process.env.TRACE_PATTERN ?? 'Scavenge', 'g');
const scavenges = (log: string) => (readFileSync(log, 'utf8').match(pattern) ?? []).length;

let index = 0;
for (const [name, env] of Object.entries(variants)) {
  const log = join(dir, `${index}.log`);
  const proxy = await startProxyProcess(await variantEnv(dir, index++, parties, env), {
    stdoutFile: log,
    nodeFlags: flags,
  });
  await send(`${proxy.url}/bench/small`, 10_000);
  const before = scavenges(log);
  const result = await send(`${proxy.url}/bench/small`, REQUESTS);
  const count = scavenges(log) - before;
  console.log(
    `${name}: ${count} scavenges over ${result.requests.total} requests, ${((count * 1024) / result.requests.total).toFixed(1)} kB per request`,
  );
  await proxy.stop();
}
await parties.stop();
rmSync(dir, { recursive: true, force: true });
