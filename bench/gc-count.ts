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
import { keyrockUser, startFakeIdm } from '../test/support/idm.ts';
import { databaseEnv, startProxyProcess } from '../test/support/proxy-process.ts';
import { startChild } from './processes.ts';
import { seedBenchStore } from './seed.ts';

const REQUESTS = Number(process.env.GC_REQUESTS ?? 40_000);
const dir = mkdtempSync(join(tmpdir(), 'ap-gc-'));
const { child: backend, port: backendPort } = await startChild('./backend.ts', {});
const idm = await startFakeIdm();
idm.users.set('buyer-token', keyrockUser('buyer', 'bench-app'));
const variants: Record<string, Record<string, string>> = process.env.GC_VARIANTS
  ? (JSON.parse(process.env.GC_VARIANTS) as Record<string, Record<string, string>>)
  : {
      'both off': { ACCOUNTING_PROXY_OPS_PORT: '0', ACCOUNTING_PROXY_ACCESS_LOG: 'false' },
      'metrics only': { ACCOUNTING_PROXY_ACCESS_LOG: 'false' },
      'access log only': { ACCOUNTING_PROXY_OPS_PORT: '0' },
      'both on': {},
    };
const headers = { 'x-auth-token': 'buyer-token', 'x-api-key': 'key-call' };
const send = (url: string, amount: number) => autocannon({ url, connections: 20, amount, headers });
// TRACE_FLAGS and TRACE_PATTERN count other V8 trace lines the same way (`--trace-deopt`,
// `deoptimizing`: code thrown away under load).
const flags = (process.env.TRACE_FLAGS ?? '--trace-gc').split(' ');
const pattern = new RegExp(process.env.TRACE_PATTERN ?? 'Scavenge', 'g');
const scavenges = (log: string) => (readFileSync(log, 'utf8').match(pattern) ?? []).length;

let index = 0;
for (const [name, env] of Object.entries(variants)) {
  const database = { ...defaultConfig().database, name: join(dir, `${index}.sqlite`) };
  await seedBenchStore(database, `http://127.0.0.1:${backendPort}`);
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
backend.kill();
await idm.close();
rmSync(dir, { recursive: true, force: true });
