/**
 * The operating surface of one proxy process: its metrics, its readiness and, unless a cluster
 * primary serves them for every worker, the ops listener.
 */
import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { CycleResult } from '../usage/report-cycle.ts';
import { Metrics } from './metrics.ts';
import { type OpsServer, startOpsServer } from './ops-server.ts';
import { createReadiness, type Readiness } from './readiness.ts';
import { storeFigures } from './store-gauges.ts';
import { createStoreProbe } from './store-probe.ts';

export interface ProcessOps {
  /** Absent when nobody can read them (ops listener off, not a worker). */
  metrics: Metrics | undefined;
  readiness: Readiness;
  /** Starts the ops listener, if this process serves it; answers its port. */
  listen(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** How a report run counts in `report_cycles_total`. */
export function cycleOutcome(result: CycleResult): 'sent' | 'failed' | 'skipped' {
  if (result.skipped || result.interrupted) return 'skipped';
  return result.failures.length > 0 ? 'failed' : 'sent';
}

export function createProcessOps(options: {
  config: Config;
  store: Store;
  units: readonly string[];
  /** Read lazily: the recorder is built with the metrics. */
  recorder: () => { readonly healthy: boolean; readonly uncommitted: number };
  clock: Clock;
  log: Logger;
  /** A cluster worker: the primary serves the ops listener and aggregates the metrics. */
  worker: boolean;
}): ProcessOps {
  const { config, store, clock, log } = options;
  const probe = createStoreProbe(store, clock);
  const serves = !options.worker && config.ops.port > 0;
  const metrics =
    serves || options.worker
      ? new Metrics({
          storeFigures: storeFigures(store, probe, options.units),
          uncommitted: () => options.recorder().uncommitted,
        })
      : undefined;
  const readiness = createReadiness({
    probe,
    recorder: {
      get healthy() {
        return options.recorder().healthy;
      },
    },
  });
  let server: OpsServer | undefined;
  return {
    metrics,
    readiness,
    async listen() {
      if (!serves || !metrics) return undefined;
      server = await startOpsServer({
        port: config.ops.port,
        bind: config.ops.bind,
        sources: {
          metrics: async () => ({
            contentType: metrics.registry.contentType,
            text: await metrics.text(),
          }),
          readiness: () => readiness.check(),
        },
        log,
      });
      return server.port;
    },
    async close() {
      await server?.close();
      metrics?.close();
    },
  };
}
