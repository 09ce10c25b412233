/**
 * The operating surface of one proxy process: its metrics and, unless a cluster primary serves
 * them for every worker, the ops listener. Its readiness is built beside them (readiness.ts).
 */
import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { CycleResult } from '../usage/report-cycle.ts';
import { Metrics } from './metrics.ts';
import { type OpsServer, startOpsServer } from './ops-server.ts';
import type { Readiness } from './readiness.ts';
import { storeFigures } from './store-gauges.ts';
import type { StoreProbe } from './store-probe.ts';

/** How a report run counts in `report_cycles_total`. */
export function cycleOutcome(result: CycleResult): 'sent' | 'failed' | 'skipped' {
  if (result.skipped || result.interrupted) return 'skipped';
  return result.failures.length > 0 ? 'failed' : 'sent';
}

/**
 * The process's metrics, or none when nobody can read them (ops listener off, not a worker). The
 * store gauges read the store through the probe's view of it at scrape time.
 */
export function createProcessMetrics(options: {
  config: Config;
  store: Store;
  probe: StoreProbe;
  units: readonly string[];
  clock: Clock;
  /** A cluster worker: the primary serves the ops listener and aggregates the metrics. */
  worker: boolean;
}): Metrics | undefined {
  const { config, store, probe, worker } = options;
  if (!worker && config.ops.port === 0) return undefined;
  return new Metrics({ storeFigures: storeFigures(store, probe, options.units, options.clock) });
}

/** The ops listener (`/metrics`, `/healthz`, `/readyz`), unless a cluster primary serves it. */
export async function startOpsListener(options: {
  config: Config;
  metrics: Metrics | undefined;
  readiness: Readiness;
  log: Logger;
  worker: boolean;
}): Promise<OpsServer | undefined> {
  const { config, metrics, readiness, log } = options;
  if (options.worker || config.ops.port === 0 || !metrics) return undefined;
  return startOpsServer({
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
}
