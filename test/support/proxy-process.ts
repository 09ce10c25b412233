import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.ts';
import { freePort } from './free-port.ts';

// The compiled entry point and the Node flags `npm start` runs it with (`npm test` builds it).
const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const packageJson = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
) as { scripts: { start: string } };
export const START_FLAGS = packageJson.scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'));

/** The environment that points the proxy (or the CLI) at this database. */
export function databaseEnv(database: Config['database']): Record<string, string> {
  return {
    ACCOUNTING_PROXY_DB: database.type,
    ACCOUNTING_PROXY_DB_NAME: database.name,
    ...(database.sqlite_driver !== 'auto' && {
      ACCOUNTING_PROXY_SQLITE_DRIVER: database.sqlite_driver,
    }),
    ACCOUNTING_PROXY_REDIS_HOST: database.redis_host,
    ACCOUNTING_PROXY_REDIS_PORT: String(database.redis_port),
    ACCOUNTING_PROXY_REDIS_PREFIX: database.redis_prefix,
    ...(database.redis_sentinels.length > 0 && {
      ACCOUNTING_PROXY_REDIS_SENTINELS: hostPorts(database.redis_sentinels),
      ACCOUNTING_PROXY_REDIS_SENTINEL_NAME: database.redis_sentinel_name,
    }),
    ...(database.redis_cluster.length > 0 && {
      ACCOUNTING_PROXY_REDIS_CLUSTER: hostPorts(database.redis_cluster),
    }),
    ...(database.redis_wait_replicas > 0 && {
      ACCOUNTING_PROXY_REDIS_WAIT_REPLICAS: String(database.redis_wait_replicas),
    }),
  };
}

const hostPorts = (nodes: { host: string; port: number }[]) =>
  nodes.map((node) => `${node.host}:${node.port}`).join(',');

export interface ProxyProcess {
  child: ChildProcess;
  url: string;
  /** Resident set size of the proxy process now, in bytes (Linux /proc). */
  rss(): number;
  exited: Promise<number | null>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `src/main.ts` as its own process, as `npm start` does, and waits until it listens. */
export async function startProxyProcess(
  env: Record<string, string>,
  options: {
    /** Where stdout goes instead of memory (a benchmark's access log is large). */
    stdoutFile?: string;
    /** Node flags after `npm start`'s own (a benchmark's `--trace-gc`). */
    nodeFlags?: string[];
    /** The compiled entry point of another checkout (a benchmark comparing two builds). */
    main?: string;
  } = {},
): Promise<ProxyProcess> {
  const port = await freePort();
  const stdoutFd = options.stdoutFile ? openSync(options.stdoutFile, 'a') : undefined;
  const child = spawn(
    process.execPath,
    [...START_FLAGS, ...(options.nodeFlags ?? []), options.main ?? MAIN],
    {
      env: {
        ...process.env,
        ACCOUNTING_PROXY_LOG_LEVEL: 'info',
        // Tests that read the ops listener give it a free port; many proxies run at once.
        ACCOUNTING_PROXY_OPS_PORT: '0',
        ...env,
        ACCOUNTING_PROXY_PORT: String(port),
      },
      stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
    },
  );
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let stderr = '';
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stdoutSoFar = () =>
    options.stdoutFile ? readFileSync(options.stdoutFile, 'utf8') : output;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  // Polled rather than watched: stdout may be a file.
  const deadline = Date.now() + 60_000;
  while (!stdoutSoFar().includes('accounting-proxy listening')) {
    if (ended) throw new Error(`proxy exited (${child.exitCode}) before listening: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`proxy not listening within 60 s: ${stdoutSoFar()}${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb * 1024;
    },
    exited,
    output: () => (options.stdoutFile ? `${stdoutSoFar()}${stderr}` : output),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
