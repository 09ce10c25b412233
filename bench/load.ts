/** One bounded load run against a URL, with wrk when installed, else autocannon. */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  mbPerSec: number;
  requests: number;
  errors: number;
}

const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1;
  }
})();

export const loadGenerator = hasWrk ? 'wrk' : 'autocannon';

const ms = (value: string, unit: string) =>
  Number(value) * (({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit] ?? Number.NaN);
const mb = (value: string, unit: string) =>
  Number(value) *
  (({ B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 } as Record<string, number>)[unit] ??
    Number.NaN);

async function wrk(
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string>,
) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const { stdout } = await promisify(execFile)('wrk', [...args, url], {
    timeout: (seconds + 30) * 1000,
  });
  const find = (pattern: RegExp) => pattern.exec(stdout) ?? [];
  const [, p50 = '0', p50u = 'ms'] = find(/^\s+50%\s+([\d.]+)(us|ms|s)$/m);
  const [, p99 = '0', p99u = 'ms'] = find(/^\s+99%\s+([\d.]+)(us|ms|s)$/m);
  const [, rps = '0'] = find(/^Requests\/sec:\s+([\d.]+)/m);
  const [, transfer = '0', transferUnit = 'MB'] = find(/^Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/m);
  const [, requests = '0'] = find(/(\d+) requests in/);
  const [, non2xx = '0'] = find(/Non-2xx or 3xx responses: (\d+)/);
  const socketErrors = find(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
    .slice(1)
    .reduce((sum, n) => sum + Number(n), 0);
  return {
    requestsPerSec: Number(rps),
    p50Ms: ms(p50, p50u),
    p99Ms: ms(p99, p99u),
    mbPerSec: mb(transfer, transferUnit),
    requests: Number(requests),
    errors: Number(non2xx) + socketErrors,
  };
}

async function cannon(
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string>,
) {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    mbPerSec: result.throughput.average / 1048576,
    requests: result.requests.total,
    errors: result.errors + result.non2xx,
  };
}

export function runLoad(
  url: string,
  options: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const run = hasWrk ? wrk : cannon;
  return run(url, options.connections, options.seconds, options.headers ?? {});
}
