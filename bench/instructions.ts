/**
 * Instructions per request, counted by valgrind's callgrind rather than timed: on a shared
 * two-core machine the CPU time of one request moves by 2x between rounds, its instruction count
 * by about 3 %. Each variant's proxy runs under callgrind (`npm start`'s flags), gets INSTR_WARMUP
 * requests, its counters zeroed, INSTR_REQUESTS more, and a dump; the top functions of the
 * difference between the first variant and each other one are printed (JIT code is one line).
 * Needs the Debian package `valgrind`; slow (some 70 requests a second).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/support/free-port.ts';
import { START_FLAGS } from '../test/support/proxy-process.ts';
import {
  BUYER_HEADERS,
  OBSERVABILITY_VARIANTS,
  startParties,
  variantEnv,
  variantsFrom,
} from './variants.ts';

const WARMUP = Number(process.env.INSTR_WARMUP ?? 4000);
const REQUESTS = Number(process.env.INSTR_REQUESTS ?? 3000);
const variants = variantsFrom('INSTR_VARIANTS', {
  'both off': OBSERVABILITY_VARIANTS['both off'] ?? {},
  'both on': {},
});
const dir = mkdtempSync(join(tmpdir(), 'ap-instr-'));
const parties = await startParties();
const headers = BUYER_HEADERS;
const send = (url: string, amount: number) =>
  autocannon({ url, connections: 10, amount, headers, timeout: 60 });

/** Exclusive instructions by function, from callgrind_annotate. */
function byFunction(file: string): Map<string, number> {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (!match) continue;
    const name = /^\?\?\?:0x[0-9a-f]+ \[\?\?\?\]$/.test(match[2] ?? '')
      ? 'JIT code'
      : (match[2] ?? '').replace(/ \[\/.*$/, '');
    counts.set(name, (counts.get(name) ?? 0) + Number(match[1]?.replaceAll(',', '')));
  }
  return counts;
}
// Inclusive entries (the totals, threads, the event loop, main) that would count everything twice.
const INCLUSIVE =
  /PROGRAM TOTALS|clone|start_thread|SpinEventLoop|libc_start|below main|:main$|NodeMainInstance|node::Start|0x000000000001ab70/;

const results: { name: string; perRequest: number; functions: Map<string, number> }[] = [];
let index = 0;
for (const [name, env] of Object.entries(variants)) {
  const proxyEnv = await variantEnv(dir, index, parties, env);
  const port = await freePort();
  const out = join(dir, `${index}.callgrind`);
  const log = join(dir, `${index++}.log`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      ...START_FLAGS,
      'dist/src/main.js',
    ],
    {
      env: { ...process.env, ...proxyEnv, ACCOUNTING_PROXY_PORT: String(port) },
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    },
  );
  const deadline = Date.now() + 300_000;
  while (!readFileSync(log, 'utf8').includes('accounting-proxy listening')) {
    if (Date.now() > deadline)
      throw new Error(`${name}: not listening: ${readFileSync(log, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const url = `http://127.0.0.1:${port}/bench/small`;
  await send(url, WARMUP);
  execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
  const result = await send(url, REQUESTS);
  execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const dump = readdirSync(dir).find((f) => f.startsWith(`${index - 1}.callgrind.`));
  if (!dump) throw new Error(`${name}: no callgrind dump`);
  const functions = byFunction(join(dir, dump));
  let total = 0;
  for (const [fn, count] of functions) if (!INCLUSIVE.test(fn)) total += count;
  const perRequest = total / result.requests.total;
  results.push({ name, perRequest, functions });
  console.log(
    `${name}: ${(perRequest / 1000).toFixed(1)} k instructions a request (${result.requests.total} requests, ${result.non2xx} not 2xx)`,
  );
}
const [base, ...others] = results;
for (const other of others) {
  if (!base) break;
  const ratio = other.perRequest / base.perRequest;
  console.log(
    `\n${other.name} against ${base.name}: ${((ratio - 1) * 100).toFixed(1)} %; largest differences (instructions a request):`,
  );
  const names = new Set([...base.functions.keys(), ...other.functions.keys()]);
  const deltas = [...names]
    .filter((fn) => !INCLUSIVE.test(fn))
    .map(
      (fn) =>
        [fn, ((other.functions.get(fn) ?? 0) - (base.functions.get(fn) ?? 0)) / REQUESTS] as const,
    )
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15);
  for (const [fn, delta] of deltas)
    console.log(`  ${delta.toFixed(0).padStart(7)}  ${fn.slice(0, 100)}`);
}
await parties.stop();
rmSync(dir, { recursive: true, force: true });
