/**
 * The cluster primary (ACCOUNTING_PROXY_WORKERS > 1): forks the workers that share the proxy
 * port, restarts one that dies, drains them all on SIGTERM, and serves the ops listener for all
 * of them (metrics aggregated by prom-client, readiness asked of each worker).
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../../config.ts';
import { systemClock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type OpsServer, startOpsServer } from '../ops/ops-server.ts';
import type { ReadinessReport } from '../ops/readiness.ts';
import {
  isMessage,
  type PrimaryMessage,
  READINESS_ANSWER,
  READINESS_REQUEST,
  SHUTDOWN,
  WORKER_LISTENING,
  type WorkerMessage,
} from './messages.ts';

type Answer = Extract<WorkerMessage, { type: typeof READINESS_ANSWER }>;

const READINESS_TIMEOUT_MS = 2000;
// A worker that dies this soon after starting is crash-looping: its restarts are spaced out.
const QUICK_DEATH_MS = 5000;
const MAX_RESTART_DELAY_MS = 10_000;

export interface Primary {
  /** Resolves once every worker listens; rejects if one dies first (it printed why). */
  started: Promise<void>;
  stop(): Promise<number>;
}

export function startPrimary(config: Config, log: Logger): Primary {
  const count = config.ops.workers;
  const slots = new Map<number, { worker: Worker; startedAt: number; restarts: number }>();
  let stopping = false;
  let ops: OpsServer | undefined;
  let started = false;
  let failStart: (error: Error) => void = () => {};
  let listening = 0;
  let port = 0;
  let askId = 0;
  const asks = new Map<number, (answer: Answer) => void>();

  const fork = (slot: number, restarts: number) => {
    const worker = cluster.fork({ ACCOUNTING_PROXY_WORKER_SLOT: String(slot) });
    slots.set(slot, { worker, startedAt: systemClock.monotonic(), restarts });
    worker.on('message', (message: WorkerMessage) => {
      if (
        isMessage<Extract<WorkerMessage, { type: typeof WORKER_LISTENING }>>(
          message,
          WORKER_LISTENING,
        )
      ) {
        port = message.port;
        log.info({ worker: slot, pid: worker.process.pid }, 'worker listening');
        if (!started && ++listening === count) allListening().catch(failStart);
      } else if (isMessage<Answer>(message, READINESS_ANSWER)) {
        asks.get(message.id)?.(message);
      }
    });
    worker.on('exit', (code, signal) => {
      if (slots.get(slot)?.worker !== worker) return;
      if (stopping) return;
      if (!started) {
        failStart(new Error(`worker ${slot} exited (${signal ?? code}) before listening`));
        return;
      }
      const lived = systemClock.monotonic() - (slots.get(slot)?.startedAt ?? 0);
      const quick = lived < QUICK_DEATH_MS ? restarts + 1 : 0;
      const delay = quick === 0 ? 0 : Math.min(100 * 2 ** quick, MAX_RESTART_DELAY_MS);
      log.error(
        { worker: slot, pid: worker.process.pid, code, signal, restartInMs: delay },
        'worker died; restarting it',
      );
      setTimeout(() => stopping || fork(slot, quick), delay).unref();
    });
  };

  async function allListening() {
    started = true;
    if (config.ops.port > 0) {
      const aggregator = new AggregatorRegistry();
      ops = await startOpsServer({
        port: config.ops.port,
        bind: config.ops.bind,
        sources: {
          metrics: async () => ({
            contentType: aggregator.contentType,
            text: await aggregator.clusterMetrics(),
          }),
          readiness,
        },
        log,
      });
    }
    log.info({ port, workers: count, store: config.database.type }, 'accounting-proxy listening');
    resolveStarted();
  }

  /** Ready while every worker runs and says it is ready. */
  async function readiness(): Promise<ReadinessReport> {
    if (stopping) return { ready: false, reasons: ['shutting down'] };
    const running = [...slots].filter(([, { worker }]) => worker.isConnected());
    const answers = await Promise.all(
      running.map(
        ([slot, { worker }]) =>
          new Promise<{ slot: number; answer: Answer | undefined }>((resolve) => {
            const id = ++askId;
            const timer = setTimeout(() => {
              asks.delete(id);
              resolve({ slot, answer: undefined });
            }, READINESS_TIMEOUT_MS);
            asks.set(id, (answer) => {
              clearTimeout(timer);
              asks.delete(id);
              resolve({ slot, answer });
            });
            worker.send({ type: READINESS_REQUEST, id } satisfies PrimaryMessage);
          }),
      ),
    );
    const reasons: string[] = [];
    if (running.length < count) reasons.push(`${running.length} of ${count} workers running`);
    for (const { slot, answer } of answers) {
      if (!answer) reasons.push(`worker ${slot}: no answer`);
      else for (const reason of answer.reasons) reasons.push(`worker ${slot}: ${reason}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  let resolveStarted: () => void = () => {};
  const startedPromise = new Promise<void>((resolve, reject) => {
    resolveStarted = resolve;
    failStart = reject;
  });
  for (let slot = 1; slot <= count; slot++) fork(slot, 0);

  return {
    started: startedPromise,
    async stop() {
      stopping = true;
      const workers = [...slots.values()].map(({ worker }) => worker);
      const exits = workers.map(
        (worker) =>
          new Promise<number>((resolve) => {
            if (worker.isDead()) return resolve(worker.process.exitCode ?? 1);
            worker.once('exit', (code) => resolve(code ?? 1));
          }),
      );
      for (const worker of workers) {
        if (worker.isConnected()) worker.send({ type: SHUTDOWN } satisfies PrimaryMessage);
      }
      // Each worker drains within the grace period; one that does not is killed a little later.
      const deadline = setTimeout(() => {
        for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL');
      }, config.accounting_proxy.shutdown_grace + 5000);
      const codes = await Promise.all(exits);
      clearTimeout(deadline);
      await ops?.close();
      return codes.every((code) => code === 0) ? 0 : 1;
    },
  };
}
