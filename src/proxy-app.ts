/**
 * Request handling built from its parts: the admin API under its paths, the proxy path for
 * everything else. Opens nothing itself, so tests hand it the parts they want.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';
import type { Meters } from './accounting/meter.ts';
import type { AccountingModule } from './accounting/module.ts';
import { adapterUnits } from './accounting/session-rates.ts';
import type { UsageRecorder } from './accounting/usage-recorder.ts';
import type { AccessTokens } from './auth/access-tokens.ts';
import type { Clock } from './clock.ts';
import { proxyError } from './errors.ts';
import { sendError } from './http/send-error.ts';
import type { Logger } from './log.ts';
import { type EventListener, TMF_LISTENER_PREFIX } from './marketplace/event-listener.ts';
import type { ExchangeObserver } from './ops/exchange-trace.ts';
import type { Forwarder } from './proxy/forwarder.ts';
import { createProxyHandler, type SubscriptionHook } from './proxy/handler.ts';
import type { RoutingSync } from './proxy/routing-sync.ts';
import type { Buy, Store } from './store/store.ts';

export interface ProxyAppParts {
  config: Config;
  store: Store;
  routing: RoutingSync;
  tokens: AccessTokens;
  modules: ReadonlyMap<string, AccountingModule>;
  recorder: UsageRecorder;
  meters: Meters;
  forwarder: Forwarder;
  clock: Clock;
  log: Logger;
  /** Orion support, when on: buyers' subscription operations and the cancelling of a buy's. */
  orion?: { subscriptions: SubscriptionHook; cancelAll(buy: Buy): Promise<void> };
  /** A buy ended: its last usage should be reported. */
  afterRevoke(buy: Buy): void;
  /** Metrics and access log of every exchange. */
  observer: ExchangeObserver;
  /** The TMF v4 marketplace's product events (tmf4 mode). */
  tmfListener?: EventListener;
}

export interface ProxyApp {
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function createProxyApp(parts: ProxyAppParts): ProxyApp {
  const { config, log, orion } = parts;
  const handleProxyRequest = createProxyHandler({
    ...parts,
    ...(orion ? { subscriptions: orion.subscriptions } : {}),
  });
  // The admin API (express, zod: some 30 MB) loads with its first request: the marketplace calls
  // it now and then, while every byte of the proxy's footprint counts on every instance.
  let adminApp: Promise<RequestListener> | undefined;
  const loadAdminApp = async (): Promise<RequestListener> => {
    const { createAdminApp } = await import('./admin/app.ts');
    return createAdminApp({
      config,
      store: parts.store,
      tokens: parts.tokens,
      refreshRouting: () => parts.routing.refresh(),
      ...(orion ? { beforeRevoke: (buy: Buy) => orion.cancelAll(buy) } : {}),
      afterRevoke: parts.afterRevoke,
      clock: parts.clock,
      log,
      adapterUnits: adapterUnits(parts.modules),
    });
  };
  const handleAdminRequest: RequestListener = (req, res) => {
    adminApp ??= loadAdminApp();
    adminApp.then(
      (app) => app(req, res),
      (error: unknown) => {
        log.error({ err: error }, 'cannot load the admin API');
        sendError(res, proxyError('ADMIN_API_UNAVAILABLE'));
      },
    );
  };
  const adminPaths = new Set(Object.values(config.api.administration_paths));
  return {
    handle(req, res) {
      const trace = parts.observer.begin(req, res);
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      if (parts.tmfListener && url.startsWith(TMF_LISTENER_PREFIX)) {
        trace.outcome = 'admin_api';
        parts.tmfListener(req, res);
      } else if (adminPaths.has(query === -1 ? url : url.slice(0, query))) {
        trace.outcome = 'admin_api';
        res.setHeader('x-request-id', trace.id);
        handleAdminRequest(req, res);
      } else handleProxyRequest(req, res, trace);
    },
  };
}
