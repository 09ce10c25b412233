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
import { defaultConfig } from '../config.ts';
import { freePort } from '../test/support/free-port.ts';
import { databaseEnv, startProxyProcess } from '../test/support/proxy-process.ts';
import { seedBenchStore } from './seed.ts';
import { BUYER_HEADERS, startParties, variantsFrom } from './variants.ts';

const REQUESTS = Number(process.env.GC_REQUESTS ?? 40_000);
const dir = mkdtempSync(join(tmpdir(), 'ap-gc-'));
const parties = await startParties();
const { idm } = parties;
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
  const database = { ...defaultConfig().database, name: join(dir, `${index}.sqlite`) };
  await seedBenchStore(database, parties.backendUrl);
  const log = join(dir, `${index++}.log`);
  const proxy = await startProxyProcess(
    {
      ...databaseEnv(database),
      ACCOUNTING_PROXY_IDM_URL: idm.url,
      ACCOUNTING_PROXY_TOKEN_CACHE_TTL: '3600',
      // Metrics are kept while the ops listener serves them.
      ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
      ...env,
    },
    { stdoutFile: log, nodeFlags: flags },
  );
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
