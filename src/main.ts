/**
 * `npm start`: runs the proxy until SIGTERM or SIGINT — in this process, or, with
 * ACCOUNTING_PROXY_WORKERS > 1, as a cluster primary and its workers.
 */
import cluster from 'node:cluster';
import { type Config, loadConfig } from '../config.ts';
import { systemClock } from './clock.ts';
import { startPrimary } from './cluster/primary.ts';
import { serveAsWorker } from './cluster/worker.ts';
import { AccountingProxyError } from './errors.ts';
import { createLogger, type Logger } from './log.ts';
import { stdoutAccessLog } from './ops/access-log.ts';
import { type RunningProxy, startProxy } from './server.ts';

function exitWith(message: string): never {
  process.stderr.write(`accounting-proxy: ${message}\n`);
  process.exit(1);
}

function startFailure(config: Config, error: unknown): never {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') {
    exitWith(
      `port ${(error as { port?: number }).port ?? config.accounting_proxy.port} is already in use`,
    );
  }
  if (error instanceof AccountingProxyError) exitWith(message);
  exitWith(`cannot start: ${message}`);
}

/**
 * Stops once on the first signal (or request); a second signal means now: `now` cuts the stop
 * short (the same parts closed, without waiting for the exchanges under way), or the process exits.
 */
function onStopSignals(
  stop: (reason: string) => Promise<number>,
  log: Logger,
  now?: () => Promise<unknown>,
): (reason: string) => void {
  let stopping = false;
  let signals = 0;
  const begin = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping');
    stop(reason).then(
      (code) => process.exit(code),
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (++signals === 1) return begin(signal);
      if (signals > 2 || !now) process.exit(1);
      log.warn({ reason: signal }, 'stopping now');
      // A part that will not close must not keep a process told twice to stop.
      setTimeout(() => process.exit(1), 5000).unref();
      now().then(
        () => process.exit(1),
        () => process.exit(1),
      );
    });
  }
  return begin;
}

async function runProxy(config: Config, log: Logger): Promise<void> {
  const slot = process.env.ACCOUNTING_PROXY_WORKER_SLOT;
  const worker = cluster.isWorker;
  const workerLog = worker ? log.child({ worker: Number(slot) }) : log;
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(config, workerLog, {
      worker,
      ...(worker && config.log.access_log
        ? { accessLog: stdoutAccessLog(systemClock.now, { worker: Number(slot) }) }
        : {}),
    });
  } catch (error) {
    startFailure(config, error);
  }
  const stop = onStopSignals(
    async () => {
      await proxy.close();
      return 0;
    },
    workerLog,
    () => proxy.interrupt(),
  );
  if (worker) serveAsWorker(proxy, stop, workerLog);
}

async function runPrimary(config: Config, log: Logger): Promise<void> {
  const primary = startPrimary(config, log);
  onStopSignals(() => primary.stop(), log);
  try {
    await primary.started;
  } catch (error) {
    log.error({ err: (error as Error).message }, 'a worker could not start; stopping');
    await primary.stop();
    process.exit(1);
  }
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof AccountingProxyError) exitWith(error.message);
  throw error;
}
const log = createLogger(config.log.level);
if (cluster.isPrimary && config.ops.workers > 1) await runPrimary(config, log);
else await runProxy(config, log);
