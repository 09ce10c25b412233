/**
 * What a JWT access token costs on the proxy path, next to a cached Keyrock token. Two proxies
 * (the built dist/, SQLite, metrics and access log on, both trusting an ES256 verifier stand-in)
 * serve the buyer's metered `call` buy:
 * - warm: one proxy loaded with the same ES256 JWT on every request, the other with a Keyrock
 *   token, at the same time (a duet, bench/duet.ts): the median of the per-round ratios;
 * - cold: a new JWT on every request (signed beforehand), then the Keyrock token, one after the
 *   other, rounds alternating which goes first: req/s and CPU µs per request of each.
 * `node --import tsx bench/tokens.ts` after `npm run build`; BENCH_ROUNDS, BENCH_SECONDS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { keyrockUser } from '../test/support/idm.ts';
import { startProxyProcess } from '../test/support/proxy-process.ts';
import { issuerSetting, startFakeVerifier } from '../test/support/verifier.ts';
import { duet, median } from './duet.ts';
import { runLoad } from './load.ts';
import { cpuMicros } from './processes.ts';
import { BUYER_HEADERS, startParties, variantEnv } from './variants.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 50;
const dir = mkdtempSync(join(tmpdir(), 'ap-tokens-'));
const parties = await startParties();
const verifier = await startFakeVerifier('vcverifier', 'ES256');
const env = { ACCOUNTING_PROXY_JWT_ISSUERS: JSON.stringify([issuerSetting(verifier)]) };
const start = async (index: number) =>
  startProxyProcess(await variantEnv(dir, index, parties, env), {
    stdoutFile: join(dir, `${index}.log`),
  });
const [jwtProxy, keyrockProxy] = [await start(0), await start(1)];
const url = (proxy: typeof jwtProxy) => `${proxy.url}/bench/small`;

// The seeded buy's customer is `buyer`: a credential the buyer's organization issued.
const jwt = await verifier.token('buyer', 'bench-app', { expiresIn: 3600 });
const jwtHeaders = { authorization: `Bearer ${jwt}`, 'x-api-key': 'key-call' };
process.stderr.write(`ES256 token of ${jwt.length} bytes (the full credential embedded)\n`);

const measure = async (proxy: typeof jwtProxy, headers: Record<string, string>) => {
  const before = cpuMicros(proxy.child.pid);
  const result = await runLoad(url(proxy), { connections: CONNECTIONS, seconds: SECONDS, headers });
  if (result.errors > 0) throw new Error(`${result.errors} failed requests`);
  return { ...result, cpu: (cpuMicros(proxy.child.pid) - before) / result.requests };
};
await measure(jwtProxy, jwtHeaders);
await measure(keyrockProxy, BUYER_HEADERS);
const warm = await duet(
  () => measure(jwtProxy, jwtHeaders),
  () => measure(keyrockProxy, BUYER_HEADERS),
  ROUNDS,
  (a, b, round) =>
    process.stderr.write(
      `  warm round ${round + 1}: JWT ${a.requestsPerSec.toFixed(0)} vs Keyrock ${b.requestsPerSec.toFixed(0)} req/s\n`,
    ),
);

// The same duet with a Keyrock token as long as the JWT: what is left is the verification's own
// cost, the rest of the gap being the bytes a longer token adds to every request and forward.
const longToken = 'k'.repeat(jwt.length);
parties.idm.users.set(longToken, keyrockUser('buyer', 'bench-app'));
const longHeaders = { 'x-auth-token': longToken, 'x-api-key': 'key-call' };
await measure(keyrockProxy, longHeaders);
const sameLength = await duet(
  () => measure(jwtProxy, jwtHeaders),
  () => measure(keyrockProxy, longHeaders),
  ROUNDS,
  (a, b, round) =>
    process.stderr.write(
      `  same-length round ${round + 1}: JWT ${a.requestsPerSec.toFixed(0)} vs Keyrock ${b.requestsPerSec.toFixed(0)} req/s\n`,
    ),
);

// Cold: enough new tokens that none is used twice (a cached one would be warm).
const COLD_ROUNDS = Math.max(1, Math.floor(ROUNDS / 4));
const coldTokens: string[] = [];
const needed = 6000 * SECONDS * COLD_ROUNDS;
process.stderr.write(`signing ${needed} tokens for the cold runs\n`);
for (let i = 0; i < needed; i++) coldTokens.push(await verifier.token(`buyer`, 'bench-app'));
let next = 0;
const autocannonRun = async (proxy: typeof jwtProxy, fresh: boolean) => {
  const before = cpuMicros(proxy.child.pid);
  const result = await autocannon({
    url: url(proxy),
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: fresh ? { 'x-api-key': 'key-call' } : BUYER_HEADERS,
    requests: [
      {
        setupRequest: (request) => {
          if (!fresh) return request;
          const token = coldTokens[next++ % coldTokens.length];
          request.headers = { ...request.headers, authorization: `Bearer ${token}` };
          return request;
        },
      },
    ],
  });
  if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx} failed requests`);
  return {
    rps: result.requests.average,
    cpu: (cpuMicros(proxy.child.pid) - before) / result.requests.total,
  };
};
const cold = {
  jwt: [] as { rps: number; cpu: number }[],
  keyrock: [] as { rps: number; cpu: number }[],
};
for (let round = 0; round < COLD_ROUNDS; round++) {
  const order = round % 2 ? (['keyrock', 'jwt'] as const) : (['jwt', 'keyrock'] as const);
  for (const kind of order) {
    cold[kind].push(await autocannonRun(kind === 'jwt' ? jwtProxy : keyrockProxy, kind === 'jwt'));
  }
}
if (next > coldTokens.length) process.stderr.write('warning: cold tokens were reused\n');

const pick = <T>(runs: T[], key: (run: T) => number) => median(runs.map(key));
console.log(
  `Node ${process.versions.node}, ${ROUNDS} warm rounds and ${COLD_ROUNDS} cold rounds of ${SECONDS} s, ${CONNECTIONS} connections, small bodies, every request metered`,
);
console.log('| token | req/s (median) | CPU µs/req |');
console.log('| --- | --- | --- |');
console.log(
  `| Keyrock, cached (duet side) | ${pick(warm.ofB, (r) => r.requestsPerSec).toFixed(0)} | ${pick(warm.ofB, (r) => r.cpu).toFixed(0)} |`,
);
console.log(
  `| ES256 JWT, warm (cached) | ${pick(warm.ofA, (r) => r.requestsPerSec).toFixed(0)} | ${pick(warm.ofA, (r) => r.cpu).toFixed(0)} |`,
);
console.log(
  `| Keyrock, cached (alone, autocannon) | ${pick(cold.keyrock, (r) => r.rps).toFixed(0)} | ${pick(cold.keyrock, (r) => r.cpu).toFixed(0)} |`,
);
console.log(
  `| ES256 JWT, cold (a new token each request, autocannon) | ${pick(cold.jwt, (r) => r.rps).toFixed(0)} | ${pick(cold.jwt, (r) => r.cpu).toFixed(0)} |`,
);
console.log(
  `warm JWT × ${warm.ratio.toFixed(3)} the requests of cached Keyrock (target ≥ 0.95: ${warm.ratio >= 0.95 ? 'met' : 'NOT met'}); rounds ${warm.ratios.map((r) => r.toFixed(2)).join(' ')}`,
);
console.log(
  `warm JWT × ${sameLength.ratio.toFixed(3)} the requests of cached Keyrock with a ${jwt.length}-byte token (CPU ${pick(sameLength.ofA, (r) => r.cpu).toFixed(0)} vs ${pick(sameLength.ofB, (r) => r.cpu).toFixed(0)} µs/req); rounds ${sameLength.ratios.map((r) => r.toFixed(2)).join(' ')}`,
);
await Promise.all([jwtProxy.stop(), keyrockProxy.stop()]);
await Promise.all([parties.stop(), verifier.close()]);
rmSync(dir, { recursive: true, force: true });
