import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config.ts';
import type { Meters } from '../accounting/meter.ts';
import type { AccountingModule } from '../accounting/module.ts';
import type { UsageRecorder } from '../accounting/usage-recorder.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import { type IdmUser, isForApplication } from '../auth/idm-client.ts';
import { type Identity, resolveUser } from '../auth/resolve-user.ts';
import { userHeaders } from '../auth/user-headers.ts';
import { isCustomerOf, soleMarketplaceBuy } from '../buys/customer.ts';
import type { Clock } from '../clock.ts';
import {
  type AccountingProxyError,
  type FixedMessageCode,
  isProxyError,
  proxyError,
} from '../errors.ts';
import { sendError } from '../http/send-error.ts';
import type { Logger } from '../log.ts';
import type { ExchangeTrace } from '../ops/exchange-trace.ts';
import { backendTarget } from '../services/backend-target.ts';
import type { Buy, Service, Store } from '../store/store.ts';
import type { Forwarder } from './forwarder.ts';
import { createLimitGate, type Grant } from './limit-gate.ts';
import { type Metering, meteringHooks } from './metering-hooks.ts';
import type { RoutingSync } from './routing-sync.ts';
import type { Route } from './routing-table.ts';

export interface ProxyHandlerOptions {
  config: Config;
  routing: RoutingSync;
  tokens: AccessTokens;
  modules: ReadonlyMap<string, AccountingModule>;
  recorder: UsageRecorder;
  meters: Meters;
  store: Store;
  forwarder: Forwarder;
  clock: Clock;
  /** Orion subscription operations of buyers, when Orion support is on. */
  subscriptions?: SubscriptionHook;
  log: Logger;
}

/** A buyer's authorized request to a Context Broker service. */
export interface BuyerRequest {
  service: Service;
  rest: string;
  user: IdmUser;
  token: string;
  buy: Buy;
  module: AccountingModule;
}

/**
 * Takes over the buyer requests to Context Broker services that are subscription operations
 * (Orion support implements it): true when it answers the request itself.
 */
export interface SubscriptionHook {
  intercept(req: IncomingMessage, res: ServerResponse, request: BuyerRequest): boolean;
}

/**
 * The proxy path: token → IdM user → service → admin or buyer → method → forward → meter.
 * Everything but the IdM call on a cold token and the forward itself is in-memory.
 */
export function createProxyHandler(options: ProxyHandlerOptions) {
  const { routing, tokens, modules, recorder, meters, store, forwarder, log, config, clock } =
    options;
  const limitGate = createLimitGate({
    store,
    clock,
    log,
    refuse: (res, trace, code) => refuse(res.req, res, trace, proxyError(code)),
  });

  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
    error: AccountingProxyError,
  ) => {
    log.warn(
      {
        requestId: trace.id,
        code: error.code,
        status: error.status,
        method: req.method,
        path: req.url?.split('?')[0],
      },
      'request refused',
    );
    // Refused before routing (no token, say): still counted under the service the path names.
    if (trace.service === '')
      trace.service = routing.table.route(req.url ?? '/')?.service.publicPath ?? '';
    res.setHeader('x-request-id', trace.id);
    trace.refused(error.code, sendError(res, error));
  };
  const refuseWith = (
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
    code: FixedMessageCode,
  ) => refuse(req, res, trace, proxyError(code));

  function authorize(
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
    identity: Identity,
    rechecked = false,
  ) {
    const { token, user } = identity;
    trace.userId = user.id;
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    // A refusal the routing table decides may come from a change (CLI, another proxy) not loaded
    // yet: the store is asked once whether it changed, and if it did the request is decided again.
    const decidedBy = routing.table;
    const refuseUnlessChanged = (error: AccountingProxyError) => {
      if (rechecked) return refuse(req, res, trace, error);
      void routing.recheck().then(() => {
        if (res.destroyed) return;
        if (routing.table !== decidedBy) authorize(req, res, trace, identity, true);
        else refuse(req, res, trace, error);
      });
    };
    const route = routing.table.route(url);
    if (!route) return refuseUnlessChanged(proxyError('TOKEN_SCOPE'));
    trace.service = route.service.publicPath;
    // Its buyers connect to the service itself; the adapter API meters them.
    if (route.service.adapter) {
      return refuse(
        req,
        res,
        trace,
        proxyError('ADAPTER_SERVICE_NOT_HTTP', route.service.publicPath),
      );
    }
    if (!isForApplication(user, route.service.appId)) {
      return refuseUnlessChanged(proxyError(user.audiences ? 'TOKEN_AUDIENCE' : 'TOKEN_SCOPE'));
    }
    const { entry } = route;

    if (entry.admins.has(user.id)) {
      if (!entry.methods.has(method)) {
        return refuseUnlessChanged(proxyError('METHOD_NOT_ALLOWED', entry.methodList));
      }
      return forward(req, res, trace, route, user, token, undefined);
    }

    const apiKey = req.headers['x-api-key'];
    let buy: Buy | undefined;
    if (typeof apiKey === 'string' && apiKey !== '') {
      buy = routing.table.buy(apiKey);
      if (!buy || !isCustomerOf(buy, user) || buy.publicPath !== route.service.publicPath) {
        return refuseUnlessChanged(proxyError('API_KEY_INVALID'));
      }
    } else {
      // A customer with one purchase of the service from the TMF v4 marketplace needs no key.
      buy = soleMarketplaceBuy(routing.table.marketplaceBuys(route.service.publicPath), user);
      if (!buy) return refuseUnlessChanged(proxyError('API_KEY_MISSING'));
    }
    if (!entry.methods.has(method)) {
      return refuseUnlessChanged(proxyError('METHOD_NOT_ALLOWED', entry.methodList));
    }
    const module = modules.get(buy.unit);
    if (!module) return refuse(req, res, trace, proxyError('UNIT_NOT_CONFIGURED', buy.unit));
    // Nothing is served that could not be billed.
    if (!store.isAvailable() || !recorder.healthy) {
      return refuseWith(req, res, trace, 'STORE_UNAVAILABLE');
    }
    const serve = (grant?: Grant) => {
      if (options.subscriptions && route.service.isContextBroker) {
        const { service, rest } = route;
        const request = { service, rest, user, token, buy, module };
        res.setHeader('x-request-id', trace.id);
        if (options.subscriptions.intercept(req, res, request)) return;
      }
      forward(req, res, trace, route, user, token, { buy, module, grant });
    };
    // A buy without limits costs no store round trip before its exchange.
    const limits = routing.table.limitsOf(buy);
    if (!limits) return serve();
    limitGate.check(req, res, trace, buy, module, limits, serve);
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
    route: Route,
    user: IdmUser,
    token: string,
    metering: Metering | undefined,
  ) {
    const target = {
      ...backendTarget(route),
      headers: userHeaders(user, token, config.oauth2.roles),
    };
    const hooks = metering && meteringHooks({ meters, clock }, req, trace, metering, target);
    forwarder.forward(req, res, target, hooks, trace);
  }

  const settle = (
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
    resolved: Identity | AccountingProxyError,
  ) => {
    if (!isProxyError(resolved)) return authorize(req, res, trace, resolved);
    if (resolved.code === 'IDM_UNAVAILABLE' || resolved.code === 'JWKS_UNAVAILABLE') {
      const what = resolved.code === 'IDM_UNAVAILABLE' ? 'identity manager' : 'token issuer keys';
      log.warn({ err: (resolved.cause as Error | undefined)?.message }, `${what} unavailable`);
    }
    refuse(req, res, trace, resolved);
  };

  return function handleProxyRequest(
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
  ) {
    const resolved = resolveUser(tokens, req.headers);
    if (!(resolved instanceof Promise)) return settle(req, res, trace, resolved);
    resolved.then(
      // The client may have left while the IdM answered.
      (answer) => res.destroyed || settle(req, res, trace, answer),
      (error: unknown) => {
        log.error({ err: error }, 'token validation failed');
        refuseWith(req, res, trace, 'IDM_UNAVAILABLE');
      },
    );
  };
}
