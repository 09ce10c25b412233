/**
 * Start-up: opens the real parts the configuration describes (store, IdM client, modules, Orion
 * support), hands them to createProxyApp, listens, starts reporting, and stops it all in reverse
 * order.
 */
import type { Config } from '../config.ts';
import { loadAccountingModules } from './accounting/load-modules.ts';
import { createMeters } from './accounting/meter.ts';
import type { AccountingModule } from './accounting/module.ts';
import { sessionRatesOf } from './accounting/session-rates.ts';
import { createTapMemory } from './accounting/tap.ts';
import { createUsageRecorder, type UsageRecorder } from './accounting/usage-recorder.ts';
import { startAdapterApi } from './adapter/adapter-api.ts';
import type { AdapterListener } from './adapter/adapter-listener.ts';
import { createConfiguredTokens } from './auth/configured-tokens.ts';
import type { IdmClient } from './auth/idm-client.ts';
import { type Clock, systemClock } from './clock.ts';
import { usageWindowMs } from './config/tmf.ts';
import { createProxyListener, listen } from './http/proxy-listener.ts';
import type { Logger } from './log.ts';
import { type Marketplace, startMarketplace } from './marketplace/marketplace.ts';
import { type AccessLog, stdoutAccessLog } from './ops/access-log.ts';
import { createExchangeObserver } from './ops/exchange-trace.ts';
import type { Metrics } from './ops/metrics.ts';
import { createProcessOps, cycleOutcome } from './ops/process-ops.ts';
import type { Readiness } from './ops/readiness.ts';
import { type OrionSupport, startOrionSupport } from './orion/orion-support.ts';
import { createForwarder } from './proxy/forwarder.ts';
import { type RoutingSync, startRoutingSync } from './proxy/routing-sync.ts';
import { createProxyApp } from './proxy-app.ts';
import { openStore } from './store/open.ts';
import type { Buy, Store } from './store/store.ts';
import { createReportCycle } from './usage/report-cycle.ts';
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
  close(): Promise<void>;
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
  // Modules first: a bad module must stop start-up before anything is opened.
  const modules =
    overrides.modules ??
    (await loadAccountingModules(
      config.modules.accounting,
      undefined,
      {
        bodyLimit: config.modules.body_limit,
        timeoutMs: config.modules.timeout,
        log,
      },
      { upstreamHeader: config.modules.upstream_header.toLowerCase() },
    ));
  const store =
    overrides.store ??
    (await openStore(config.database, {
      sessionRates: sessionRatesOf(modules),
      sqliteCheckpoints: { intervalMs: 1000, onError: (message) => log.warn(message) },
      clock,
    }));
  let routing: RoutingSync;
  try {
    routing = await startRoutingSync(store, log, { clock });
  } catch (error) {
    await store.close();
    throw error;
  }
  let recorder: UsageRecorder | undefined;
  const ops = createProcessOps({
    config,
    store,
    units: [...modules.keys()],
    recorder: () => recorder ?? { healthy: true, uncommitted: 0 },
    clock,
    log,
    worker: overrides.worker ?? false,
  });
  const { metrics } = ops;
  recorder = createUsageRecorder({ store, log, metrics, clock, windowMs: usageWindowMs(config) });
  const meters = createMeters({
    ...{ recorder, log, metrics, timeoutMs: config.modules.timeout },
    tapMemory: createTapMemory(config.modules.memory),
    recordFault: (apiKey, reason) =>
      void store.recordMeterFault(apiKey, reason).catch((error: unknown) => {
        log.warn({ err: (error as Error).message }, 'could not keep a meter fault');
      }),
  });
  const forwarder = createForwarder({ timeoutMs: config.accounting_proxy.backend_timeout, log });
  const tokens = await createConfiguredTokens({ config, clock, log, metrics, idm: overrides.idm });
  const accessLog = config.log.access_log
    ? (overrides.accessLog ?? stdoutAccessLog(clock.now))
    : undefined;
  // Orion support: the notification listener must run before subscriptions can point at it.
  const orion = config.resources.contextBroker
    ? await startOrionSupport({ config, store, modules, meters, clock, log })
    : undefined;
  let port = config.accounting_proxy.port;
  let usageScheduler: UsageScheduler | undefined;
  // tmf4 mode: the marketplace's products become buys (src/marketplace/).
  const marketplace =
    config.marketplace.mode === 'tmf4'
      ? await startMarketplace({
          ...{ config, store, units: [...modules.keys()], clock, log, metrics },
          refreshRouting: () => routing.refresh(),
        }).catch(async (error: unknown) => {
          await Promise.all([orion?.close(), routing.stop()]);
          await store.close();
          throw error;
        })
      : undefined;
  const app = createProxyApp({
    config,
    store,
    routing,
    tokens,
    modules,
    recorder,
    meters,
    forwarder,
    clock,
    log,
    ...(orion
      ? {
          orion: {
            subscriptions: orion.subscriptions,
            cancelAll: (buy: Buy) => orion.canceller.cancelAll(buy),
          },
        }
      : {}),
    // The ended buy's last usage goes out now if it can; otherwise the next cycle sends it.
    afterRevoke: () => void usageScheduler?.runWithinSchedule(),
    port: () => port,
    observer: createExchangeObserver({ clock, metrics, accessLog }),
    ...(marketplace ? { tmfListener: marketplace.listener } : {}),
  });
  // Every listener of the proxy, in one place.
  const server = createProxyListener(config, app.handle);
  let opsPort: number | undefined;
  let adapter: AdapterListener | undefined;
  try {
    port = await listen(server, config.accounting_proxy.port);
    opsPort = await ops.listen();
    const feed = { current: () => routing.table.state, onReload: routing.onReload };
    adapter = await startAdapterApi({ config: config.adapter, store, routing: feed, clock, log });
  } catch (error) {
    server.close();
    await marketplace?.close();
    await ops.close();
    await routing.stop();
    await forwarder.close();
    await orion?.close();
    await store.close();
    throw error;
  }
  // Reporting starts after listening: a usage API that is down must not delay serving traffic.
  const usage = startUsageScheduler({
    cycle: createReportCycle({
      store,
      modules,
      usageApi: createUsageApi({
        baseUrl: config.usageAPI.url,
        timeoutMs: config.usageAPI.timeout,
      }),
      usageApiUrl: config.usageAPI.url,
      leftoversOnly: config.marketplace.mode === 'tmf4',
      clock,
      log,
    }),
    schedule: config.usageAPI.schedule,
    retryInitialMs: config.usageAPI.retry_initial,
    retryMaxMs: config.usageAPI.retry_max,
    clock,
    log,
    ...(metrics
      ? {
          onResult: (result, endedAt) =>
            metrics.reportCycle(cycleOutcome(result), result.records, endedAt),
        }
      : {}),
  });
  usageScheduler = usage;
  ops.readiness.listening();
  const { https } = config.accounting_proxy;
  // tmf4: the marketplace's purchases come from its inventory, not through these endpoints.
  if (config.marketplace.mode === 'bae7' && !(https.enabled && https.caFile)) {
    log.warn(
      { trusted: config.api.trusted_addresses },
      'no marketplace client certificate check (HTTPS with a CA is off): urls, newBuy and deleteBuy answer trusted addresses only',
    );
  }
  log.info(
    { port, store: store.kind, driver: store.driver, https: config.accounting_proxy.https.enabled },
    // A worker's primary says it once all of them listen.
    overrides.worker ? 'worker proxy listening' : 'accounting-proxy listening',
  );
  return {
    port,
    store,
    routing,
    recorder,
    usage,
    orion,
    opsPort,
    adapterPort: adapter?.port,
    marketplace,
    metrics,
    readiness: ops.readiness,
    async close() {
      ops.readiness.shuttingDown();
      // Stop accepting and let in-flight exchanges finish (and commit their usage) within the
      // grace period; keep-alive connections are closed as soon as they fall idle.
      const grace = config.accounting_proxy.shutdown_grace;
      const deadline = clock.monotonic() + grace;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const finished = await Promise.race([
        closed.then(() => true),
        sleep(grace).then(() => false),
      ]);
      clearInterval(idleSweep);
      if (!finished) {
        log.warn('grace period over: closing the connections still open');
        server.closeAllConnections();
      }
      // Adapters reconnect (dapp-openvpn retries); a call under way has committed or not at all.
      await adapter?.close();
      await marketplace?.close();
      await routing.stop();
      await usage.stop();
      // Usage still uncommitted after the grace period (store down) is logged as lost below.
      const left = Math.max(deadline - clock.monotonic(), 1000);
      await Promise.race([recorder.drain(), sleep(left)]);
      const lost = await recorder.close();
      if (lost > 0) log.error({ increments: lost }, 'usage not committed at shutdown');
      await forwarder.close();
      await orion?.close();
      await ops.close();
      await store.close();
      await accessLog?.flush();
    },
  };
}
