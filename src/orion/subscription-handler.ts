import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config.ts';
import type { Meters } from '../accounting/meter.ts';
import { userHeaders } from '../auth/user-headers.ts';
import type { Clock } from '../clock.ts';
import { isProxyError, proxyError } from '../errors.ts';
import { exchange, NoAnswerError } from '../http/buffered-exchange.ts';
import { toBlockList } from '../http/cidr.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../http/headers.ts';
import { readBody } from '../http/read-body.ts';
import { sendError } from '../http/send-error.ts';
import { upstreamFailure } from '../http/upstream-failure.ts';
import type { Logger } from '../log.ts';
import type { BuyerRequest, SubscriptionHook } from '../proxy/handler.ts';
import { backendTarget } from '../services/backend-target.ts';
import type { Store, Subscription } from '../store/store.ts';
import { isDeniedUrl } from './address-guard.ts';
import { notificationUrlOf, redirectNotifications } from './notification-target.ts';
import { detectOperation, type OrionOperation } from './operations.ts';
import { parseJson, v1SubscriptionId, v1Unsubscribed } from './v1-answers.ts';

export interface SubscriptionRequest extends BuyerRequest {
  operation: OrionOperation;
}

// Recomputed for the buffered, possibly rewritten body; the API key is this proxy's credential.
const NOT_FORWARDED = new Set(['x-api-key', 'host', 'content-length']);

const BODY_LIMIT = 1024 * 1024;

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return typeof value === 'string' ? value : '';
};

/**
 * A buyer's subscription create, update or delete on an Orion service: the notification URL is
 * pointed at the proxy's listener (with a per-subscription secret), the call goes to Orion, and
 * what Orion accepted is recorded, so every notification passes through the proxy and is metered.
 */
export function createSubscriptionHandler(options: {
  config: Config;
  store: Store;
  meters: Meters;
  /** Port of the running notification listener (the configured one, or the one given for port 0). */
  listenerPort: number;
  clock: Clock;
  log: Logger;
}) {
  const { config, store, meters, log, clock } = options;
  const deny = toBlockList(config.resources.notification_deny);
  const host = config.resources.notification_host;
  const callbackUrl = (secret: string) =>
    `http://${host}:${options.listenerPort}/subscriptions/${secret}`;

  /** Checks ownership and rewrites the body; answers what to store once Orion accepts. */
  async function prepare(request: SubscriptionRequest, json: unknown) {
    const { operation, buy } = request;
    let existing: Subscription | undefined;
    if (operation.kind !== 'create') {
      const id =
        operation.pathId ?? (json as { subscriptionId?: unknown } | undefined)?.subscriptionId;
      if (typeof id !== 'string') return { existing, buyerUrl: undefined, secret: undefined };
      existing = await store.getSubscription(id);
      // Only subscriptions made through this buy: never another buyer's, nor an admin's.
      if (!existing || existing.apiKey !== buy.apiKey)
        throw proxyError('ORION_NOT_YOUR_SUBSCRIPTION');
      if (operation.kind === 'delete') return { existing, buyerUrl: undefined, secret: undefined };
    }
    const buyerUrl = notificationUrlOf(json, operation.version);
    if (buyerUrl === undefined) return { existing, buyerUrl, secret: existing?.secret };
    if (isDeniedUrl(buyerUrl, deny)) throw proxyError('ORION_NOTIFICATION_URL_DENIED', buyerUrl);
    const secret = existing?.secret ?? randomBytes(16).toString('hex');
    redirectNotifications(json, operation.version, callbackUrl(secret));
    return { existing, buyerUrl, secret };
  }

  /** Records what Orion accepted. */
  async function remember(
    request: SubscriptionRequest,
    req: IncomingMessage,
    answer: { status: number; headers: IncomingHttpHeaders; body: Buffer },
    plan: Awaited<ReturnType<typeof prepare>>,
  ) {
    const { operation, buy } = request;
    const ok = answer.status >= 200 && answer.status < 300;
    const json = parseJson(answer.body);
    if (operation.kind === 'create' && ok && plan.buyerUrl && plan.secret) {
      const id =
        operation.version === 'v2'
          ? header(answer.headers, 'location').split('?')[0]?.split('/').filter(Boolean).at(-1)
          : v1SubscriptionId(json);
      if (!id) {
        log.error(
          { status: answer.status },
          'Orion accepted a subscription without telling its id',
        );
        return;
      }
      await store.addSubscription({
        subscriptionId: id,
        apiKey: buy.apiKey,
        notificationUrl: plan.buyerUrl,
        version: operation.version,
        secret: plan.secret,
        fiwareService: header(req.headers, 'fiware-service'),
        fiwareServicePath: header(req.headers, 'fiware-servicepath'),
      });
    } else if (operation.kind === 'update' && ok && plan.existing && plan.buyerUrl) {
      if (operation.version === 'v2' || v1SubscriptionId(json)) {
        await store.updateSubscriptionUrl(plan.existing.subscriptionId, plan.buyerUrl);
      }
    } else if (operation.kind === 'delete' && ok && plan.existing) {
      if (operation.version === 'v2' || v1Unsubscribed(answer.status, json)) {
        await store.deleteSubscription(plan.existing.subscriptionId);
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, request: SubscriptionRequest) {
    const started = clock.monotonic();
    let body = await readBody(req, BODY_LIMIT);
    let json: unknown;
    if (req.method !== 'DELETE') {
      if (!String(req.headers['content-type']).toLowerCase().startsWith('application/json')) {
        throw proxyError('ADMIN_CONTENT_TYPE');
      }
      json = parseJson(body);
      if (json === undefined) throw proxyError('INVALID_JSON');
    }
    const plan = await prepare(request, json);
    if (json !== undefined) body = Buffer.from(JSON.stringify(json));

    const headers = upstreamRequestHeaders(
      req.headers,
      NOT_FORWARDED,
      userHeaders(request.user, request.token, config.oauth2.roles),
    );
    headers['content-length'] = body.length;
    const target = backendTarget(request);
    const answer = await exchange(`${target.origin}${target.path}`, {
      method: req.method ?? 'POST',
      headers,
      body,
      timeoutMs: config.accounting_proxy.backend_timeout,
    });
    await remember(request, req, answer, plan);

    const head = { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers };
    await meters.start(request.module, request.buy.apiKey, head).end({
      answer: { status: answer.status, headers: answer.headers, bytes: answer.body.length },
      requestBytes: body.length,
      elapsedMs: clock.monotonic() - started,
      outcome: 'complete',
    });

    res.writeHead(answer.status, {
      ...downstreamResponseHeaders(answer.headers),
      'content-length': answer.body.length,
    });
    res.end(answer.body);
  }

  function answer(req: IncomingMessage, res: ServerResponse, request: SubscriptionRequest): void {
    handle(req, res, request).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof NoAnswerError) {
        const failure = upstreamFailure(error);
        log.warn({ err: error.message }, 'Orion did not answer a subscription request');
        return sendError(res, failure);
      }
      if (isProxyError(error)) return sendError(res, error);
      log.error({ err: error }, 'subscription request failed');
      sendError(res, proxyError('SUBSCRIPTION_NOT_HANDLED'));
    });
  }

  const hook: SubscriptionHook = {
    intercept(req, res, request) {
      const operation = detectOperation(req.method ?? 'GET', request.rest);
      if (!operation) return false;
      answer(req, res, { ...request, operation });
      return true;
    },
  };
  return hook;
}
