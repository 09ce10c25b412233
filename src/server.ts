/**
 * Composition root: builds every part from the configuration, starts them, and stops them in
 * reverse order.
 */

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { loadAccountingModules } from './accounting/load-modules.ts';
import { createUsageRecorder, type UsageRecorder } from './accounting/usage-recorder.ts';
import { createIdmClient } from './auth/idm-client.ts';
import { createTokenValidator } from './auth/token-validator.ts';
import { sendError } from './http/send-error.ts';
import type { Logger } from './log.ts';
import { type OrionSupport, startOrionSupport } from './orion/orion-support.ts';
import { createForwarder } from './proxy/forwarder.ts';
import { createProxyHandler } from './proxy/handler.ts';
import { type RoutingSync, startRoutingSync } from './proxy/routing-sync.ts';
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
  close(): Promise<void>;
}

function createListener(config: Config, handler: Parameters<typeof createHttpServer>[1]): Server {
  const headersTimeout = config.accounting_proxy.headers_timeout;
  // Node checks these deadlines on a timer: check often enough that a slow-loris client is closed
  // near its deadline rather than up to 30 s (the default interval) later.
  const timeouts = {
    headersTimeout,
    connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)),
  };
  const https = config.accounting_proxy.https;
  if (!https.enabled) return createHttpServer(timeouts, handler);
  return createHttpsServer(
    {
      ...timeouts,
      cert: readFileSync(https.certFile),
      key: readFileSync(https.keyFile),
      ...(https.caFile ? { ca: readFileSync(https.caFile) } : {}),
      // The marketplace authenticates with a client certificate; consumers need none.
      requestCert: true,
      rejectUnauthorized: false,
    },
    handler,
  );
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export async function startProxy(config: Config, log: Logger): Promise<RunningProxy> {
  // Modules first: a bad module must stop start-up before anything is opened.
  const modules = await loadAccountingModules(config.modules.accounting);
  const store = await openStore(config.database, {
    sqliteCheckpoints: {
      intervalMs: 1000,
      onError: (message) => log.warn(message),
    },
  });
  let routing: RoutingSync;
  try {
    routing = await startRoutingSync(store, log);
  } catch (error) {
    await store.close();
    throw error;
  }
  const recorder = createUsageRecorder({ store, log });
  const forwarder = createForwarder({ timeoutMs: config.accounting_proxy.backend_timeout, log });
  const tokens = createTokenValidator({
    idm: createIdmClient({ baseUrl: config.oauth2.idm_url, timeoutMs: config.oauth2.idm_timeout }),
    ttlMs: config.oauth2.token_cache_ttl * 1000,
  });
  // Orion support: the notification listener must run before subscriptions can point at it.
  const orion = config.resources.contextBroker
    ? await startOrionSupport({ config, store, modules, recorder, log })
    : undefined;
  const handleProxyRequest = createProxyHandler({
    config,
    routing,
    tokens,
    modules,
    recorder,
    store,
    forwarder,
    ...(orion ? { subscriptions: orion.subscriptions } : {}),
    log,
  });
  let port = config.accounting_proxy.port;
  let usageScheduler: UsageScheduler | undefined;
  // The admin API (express, zod: some 30 MB) loads with its first request: the marketplace calls
  // it now and then, while every byte of the proxy's footprint counts on every instance.
  let adminApp: Promise<RequestListener> | undefined;
  const loadAdminApp = async (): Promise<RequestListener> => {
    const { createAdminApp } = await import('./admin/app.ts');
    return createAdminApp({
      config,
      store,
      tokens,
      refreshRouting: () => routing.refresh(),
      ...(orion ? { beforeRevoke: (buy: Buy) => orion.canceller.cancelAll(buy) } : {}),
      // The ended buy's last usage goes out now if it can; otherwise the next cycle sends it.
      afterRevoke: () => void usageScheduler?.runWithinSchedule(),
      port: () => port,
      log,
    });
  };
  const handleAdminRequest: RequestListener = (req, res) => {
    adminApp ??= loadAdminApp();
    adminApp.then(
      (app) => app(req, res),
      (error: unknown) => {
        log.error({ err: error }, 'cannot load the admin API');
        sendError(res, 500, 'Admin API unavailable');
      },
    );
  };
  const adminPaths = new Set(Object.values(config.api.administration_paths));
  const server = createListener(config, (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    if (adminPaths.has(query === -1 ? url : url.slice(0, query))) handleAdminRequest(req, res);
    else handleProxyRequest(req, res);
  });
  try {
    port = await listen(server, config.accounting_proxy.port);
  } catch (error) {
    routing.stop();
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
      log,
    }),
    schedule: config.usageAPI.schedule,
    retryInitialMs: config.usageAPI.retry_initial,
    retryMaxMs: config.usageAPI.retry_max,
    log,
  });
  usageScheduler = usage;
  if (!config.accounting_proxy.https.enabled || !config.accounting_proxy.https.caFile) {
    log.warn(
      { trusted: config.api.trusted_addresses },
      'no marketplace client certificate check (HTTPS with a CA is off): urls, newBuy and deleteBuy answer trusted addresses only',
    );
  }
  log.info(
    { port, store: store.kind, https: config.accounting_proxy.https.enabled },
    'accounting-proxy listening',
  );
  return {
    port,
    store,
    routing,
    recorder,
    usage,
    orion,
    async close() {
      // Stop accepting and let in-flight exchanges finish (and commit their usage) within the
      // grace period; keep-alive connections are closed as soon as they fall idle.
      const deadline = Date.now() + config.accounting_proxy.shutdown_grace;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const finished = await Promise.race([
        closed.then(() => true),
        sleep(config.accounting_proxy.shutdown_grace).then(() => false),
      ]);
      clearInterval(idleSweep);
      if (!finished) {
        log.warn('grace period over: closing the connections still open');
        server.closeAllConnections();
      }
      routing.stop();
      await usage.stop();
      // Usage still uncommitted after the grace period (store down) is logged as lost below.
      await Promise.race([recorder.drain(), sleep(Math.max(deadline - Date.now(), 1000))]);
      const lost = await recorder.close();
      if (lost > 0) log.error({ increments: lost }, 'usage not committed at shutdown');
      await forwarder.close();
      await orion?.close();
      await store.close();
    },
  };
}
