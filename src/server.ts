/**
 * The composition root. Start-up opens the real parts the configuration describes (modules, store,
 * the IdM and token issuers), then assembles the proxy floor by floor, as the house is built:
 * observing (metrics, readiness), metering (recorder, routing, meters), reporting (usage reports,
 * the marketplace, Orion support), serving (the ops listener, the proxy, the adapter API). Each
 * part registers how it closes; every way out closes them in reverse.
 */
import type { Config } from '../config.ts';
import { loadAccountingModules } from './accounting/load-modules.ts';
import { createMeters } from './accounting/meter.ts';
import type { AccountingModule } from './accounting/module.ts';
import { sessionRatesOf } from './accounting/session-rates.ts';
import { createTapMemory } from './accounting/tap.ts';
import { createUsageRecorder, type UsageRecorder } from './accounting/usage-recorder.ts';
import { startAdapterApi } from './adapter/adapter-api.ts';
import { createConfiguredTokens } from './auth/configured-tokens.ts';
import type { IdmClient } from './auth/idm-client.ts';
import { type Clock, systemClock } from './clock.ts';
import { Closers } from './closers.ts';
import { usageWindowMs } from './config/tmf.ts';
import { createProxyListener, drain, listen } from './http/proxy-listener.ts';
import type { Logger } from './log.ts';
import { type Marketplace, startMarketplace } from './marketplace/marketplace.ts';
import { type AccessLog, stdoutAccessLog } from './ops/access-log.ts';
import { createExchangeObserver } from './ops/exchange-trace.ts';
import type { Metrics } from './ops/metrics.ts';
import { createProcessMetrics, cycleOutcome, startOpsListener } from './ops/process-ops.ts';
import { createReadiness, type Readiness } from './ops/readiness.ts';
import { createStoreProbe } from './ops/store-probe.ts';
import { type OrionSupport, startOrionSupport } from './orion/orion-support.ts';
import { createForwarder } from './proxy/forwarder.ts';
import { processRelayGc } from './proxy/relay-gc.ts';
import { type RoutingSync, startRoutingSync } from './proxy/routing-sync.ts';
import { createProxyApp } from './proxy-app.ts';
import { openStore } from './store/open.ts';
import type { Buy, Store } from './store/store.ts';
import { type CycleResult, createReportCycle } from './usage/report-cycle.ts';
import { startUsageScheduler, type UsageScheduler } from './usage/scheduler.ts';
import { createUsageApi } from './usage/usage-api.ts';

export interface RunningProxy {
  /** The port actually bound (differs from the configured one when that is 0). */
  port: number;
  store: Store;
  routing: RoutingSync;
  recorder: UsageRecorder;
  usage: UsageScheduler;
  orion: OrionSupport | undefined;
  /** The ops listener's port, when this process serves it. */
  opsPort: number | undefined;
  /** The adapter API's port, when it is on. */
  adapterPort: number | undefined;
  /** The TMF v4 marketplace (tmf4 mode). */
  marketplace: Marketplace | undefined;
  /** Absent when nobody reads them (ops listener off and not a cluster worker). */
  metrics: Metrics | undefined;
  readiness: Readiness;
  /** Stops: drains the exchanges under way within the grace period, then closes every part. */
  close(): Promise<void>;
  /** Stops at once (a second signal): the grace period is cut short, every part still closed. */
  interrupt(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Parts a caller (a test) provides instead of the ones the configuration describes. */
export interface ProxyOverrides {
  store?: Store;
  idm?: IdmClient;
  modules?: ReadonlyMap<string, AccountingModule>;
  clock?: Clock;
  /** Where access-log lines go (default: stdout, when the access log is on). */
  accessLog?: AccessLog;
  /** A cluster worker: the primary serves the ops listener and aggregates the metrics. */
  worker?: boolean;
}

export async function startProxy(
  config: Config,
  log: Logger,
  overrides: ProxyOverrides = {},
): Promise<RunningProxy> {
  const clock = overrides.clock ?? systemClock;
  const worker = overrides.worker ?? false;
  // The real parts first. Modules before anything: a bad module stops start-up with nothing open.
  const modules =
    overrides.modules ??
    (await loadAccountingModules(
      config.modules.accounting,
      undefined,
      { bodyLimit: config.modules.body_limit, timeoutMs: config.modules.timeout, log },
      { upstreamHeader: config.modules.upstream_header.toLowerCase() },
    ));
  const closers = new Closers(log);
  // The grace period's end, set when a stop begins: what still runs then is cut short, as it is
  // at once by a second signal.
  let deadline = 0;
  let cutShort: () => void = () => {};
  const graceCut = new Promise<void>((resolve) => {
    cutShort = resolve;
  });
  const within = (ms: number): Promise<void> => Promise.race([sleep(ms).then(() => {}), graceCut]);
  const stop = () => {
    deadline = clock.monotonic() + config.accounting_proxy.shutdown_grace;
    return closers.closeAll();
  };
  try {
    const store =
      overrides.store ??
      (await openStore(config.database, {
        sessionRates: sessionRatesOf(modules),
        sqliteCheckpoints: { intervalMs: 1000, onError: (message) => log.warn(message) },
        clock,
      }));
    closers.add('store', () => store.close());
    const accessLog = config.log.access_log
      ? (overrides.accessLog ?? stdoutAccessLog(clock.now))
      : undefined;
    if (accessLog) closers.add('access log', () => accessLog.flush());

    // Observing floor: metrics and the store probe, which everything above may report to.
    const probe = createStoreProbe(store, clock);
    const units = [...modules.keys()];
    const metrics = createProcessMetrics({ config, store, probe, units, clock, worker });
    if (metrics) closers.add('metrics', () => metrics.close());

    // Metering floor: the recorder commits what meters count; routing knows services and buys.
    const recorder = createUsageRecorder({
      ...{ store, log, metrics, clock },
      windowMs: usageWindowMs(config),
    });
    closers.add('usage recorder', async () => {
      // Usage still uncommitted after the grace period (store down) is logged as lost.
      const left = Math.max(deadline - clock.monotonic(), 1000);
      await Promise.race([recorder.drain(), within(left)]);
      const lost = await recorder.close();
      if (lost > 0) log.error({ increments: lost }, 'usage not committed at shutdown');
    });
    const readiness = createReadiness({ probe, recorder });
    const routing = await startRoutingSync(store, log, { clock });
    closers.add('routing', () => routing.stop());
    const meters = createMeters({
      ...{ recorder, log, metrics, timeoutMs: config.modules.timeout },
      tapMemory: createTapMemory(config.modules.memory),
      recordFault: (apiKey, reason) =>
        void store.recordMeterFault(apiKey, reason).catch((error: unknown) => {
          log.warn({ err: (error as Error).message }, 'could not keep a meter fault');
        }),
    });
    const tokens = await createConfiguredTokens({
      config,
      clock,
      log,
      metrics,
      idm: overrides.idm,
    });
    const forwarder = createForwarder({
      timeoutMs: config.accounting_proxy.backend_timeout,
      log,
      relayGc: processRelayGc(),
    });
    closers.add('forwarder', () => forwarder.close());

    // Reporting floor: usage to the marketplace, and (tmf4) its products as buys.
    const usage = startReporting({ config, store, modules, clock, log, metrics });
    closers.add('usage reports', () => usage.stop());
    const marketplace =
      config.marketplace.mode === 'tmf4'
        ? await startMarketplace({
            ...{ config, store, units, clock, log, metrics },
            refreshRouting: () => routing.refresh(),
          })
        : undefined;
    if (marketplace) closers.add('marketplace', () => marketplace.close());
    // Orion support: the notification listener must run before subscriptions can point at it.
    const orion = config.resources.contextBroker
      ? await startOrionSupport({ config, store, modules, meters, clock, log })
      : undefined;
    if (orion) closers.add('Orion support', () => orion.close());

    // Serving floor: the ops listener (readiness stays answerable while the proxy drains), the
    // proxy itself, the adapter API.
    const ops = await startOpsListener({ config, metrics, readiness, log, worker });
    if (ops) closers.add('ops listener', () => ops.close());
    const app = createProxyApp({
      ...{ config, store, routing, tokens, modules, recorder, meters, forwarder, clock, log },
      ...(orion && {
        orion: {
          subscriptions: orion.subscriptions,
          cancelAll: (buy: Buy) => orion.canceller.cancelAll(buy),
        },
      }),
      // The ended buy's last usage goes out now if it can; otherwise the next cycle sends it.
      afterRevoke: () => void usage.runWithinSchedule(),
      observer: createExchangeObserver({ clock, metrics, accessLog }),
      ...(marketplace && { tmfListener: marketplace.listener }),
    });
    const server = createProxyListener(config, app.handle);
    const port = await listen(server, config.accounting_proxy.port);
    closers.add('proxy listener', () => drain(server, within(deadline - clock.monotonic()), log));
    const feed = { current: () => routing.table.state, onReload: routing.onReload };
    const adapter = await startAdapterApi({
      config: config.adapter,
      store,
      routing: feed,
      clock,
      log,
    });
    if (adapter) closers.add('adapter API', () => adapter.close());

    readiness.listening();
    announce(config, log, { port, store, worker });
    let closing: Promise<void> | undefined;
    return {
      ...{ port, store, routing, recorder, usage, orion, marketplace, metrics, readiness },
      opsPort: ops?.port,
      adapterPort: adapter?.port,
      close() {
        readiness.shuttingDown();
        closing ??= stop();
        return closing;
      },
      interrupt() {
        cutShort();
        closing ??= stop();
        return closing;
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Usage reports to the marketplace's TMF635 API: at start, on the schedule, after failures. */
function startReporting(parts: {
  config: Config;
  store: Store;
  modules: ReadonlyMap<string, AccountingModule>;
  clock: Clock;
  log: Logger;
  metrics: Metrics | undefined;
}): UsageScheduler {
  const { config, store, modules, clock, log, metrics } = parts;
  const usageApi = createUsageApi({
    baseUrl: config.usageAPI.url,
    timeoutMs: config.usageAPI.timeout,
  });
  return startUsageScheduler({
    cycle: createReportCycle({
      ...{ store, modules, usageApi, clock, log },
      usageApiUrl: config.usageAPI.url,
      // tmf4: the marketplace's records go per window (src/marketplace/); this sends leftovers.
      leftoversOnly: config.marketplace.mode === 'tmf4',
    }),
    schedule: config.usageAPI.schedule,
    retryInitialMs: config.usageAPI.retry_initial,
    retryMaxMs: config.usageAPI.retry_max,
    ...{ clock, log },
    ...(metrics && {
      onResult: (result: CycleResult, endedAt: Date) =>
        metrics.reportCycle(cycleOutcome(result), result.records, endedAt),
    }),
  });
}

/** Start-up's last word: where the proxy listens, and what is not protected. */
function announce(
  config: Config,
  log: Logger,
  { port, store, worker }: { port: number; store: Store; worker: boolean },
): void {
  const { https } = config.accounting_proxy;
  // tmf4: the marketplace's purchases come from its inventory, not through these endpoints.
  if (config.marketplace.mode === 'bae7' && !(https.enabled && https.caFile)) {
    log.warn(
      { trusted: config.api.trusted_addresses },
      'no marketplace client certificate check (HTTPS with a CA is off): urls, newBuy and deleteBuy answer trusted addresses only',
    );
  }
  log.info(
    { port, store: store.kind, driver: store.driver, https: https.enabled },
    // A worker's primary says it once all of them listen.
    worker ? 'worker proxy listening' : 'accounting-proxy listening',
  );
}
