import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../config.ts';
import type { Meters } from '../accounting/meter.ts';
import type { AccountingModule } from '../accounting/module.ts';
import { sameSecret } from '../adapter/secrets.ts';
import type { Clock } from '../clock.ts';
import { isProxyError, proxyError } from '../errors.ts';
import { exchange } from '../http/buffered-exchange.ts';
import { toBlockList } from '../http/cidr.ts';
import { upstreamRequestHeaders } from '../http/headers.ts';
import { readBody } from '../http/read-body.ts';
import { sendError } from '../http/send-error.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { guardedLookup, isDeniedUrl } from './address-guard.ts';

const PREFIX = '/subscriptions/';
const BODY_LIMIT = 1024 * 1024;
// The subscriber's own Host; the length of the buffered body is set again.
const NOT_FORWARDED = new Set(['host', 'content-length']);

export interface NotificationListener {
  port: number;
  close(): Promise<void>;
}

/**
 * Receives Orion's notifications at `/subscriptions/<secret>`, passes each to the buyer's own URL
 * and meters it with the buy's unit (call: 1, megabyte: the notification's bytes, millisecond: the
 * buyer's response time). The usage is committed before Orion hears the buyer's status.
 */
export async function startNotificationListener(options: {
  config: Config;
  store: Store;
  modules: ReadonlyMap<string, AccountingModule>;
  meters: Meters;
  clock: Clock;
  log: Logger;
}): Promise<NotificationListener> {
  const { config, store, modules, meters, log, clock } = options;
  const deny = toBlockList(config.resources.notification_deny);
  const lookup = config.resources.notification_deny.length > 0 ? guardedLookup(deny) : undefined;

  async function deliver(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX)) throw proxyError('SUBSCRIPTION_NOT_FOUND');
    const secret = url.slice(PREFIX.length).split('?')[0] ?? '';
    const body = await readBody(req, BODY_LIMIT);
    let subscriptionId: unknown;
    try {
      subscriptionId = (JSON.parse(body.toString('utf8')) as { subscriptionId?: unknown })
        .subscriptionId;
    } catch {
      throw proxyError('ORION_INVALID_NOTIFICATION');
    }
    if (typeof subscriptionId !== 'string') throw proxyError('ORION_INVALID_NOTIFICATION');
    const subscription = await store.getSubscription(subscriptionId);
    if (!subscription || !sameSecret(subscription.secret, secret)) {
      throw proxyError('SUBSCRIPTION_NOT_FOUND');
    }
    const buy = await store.getBuy(subscription.apiKey);
    const module = buy && modules.get(buy.unit);
    if (!buy || !module) throw proxyError('SUBSCRIPTION_NOT_FOUND');
    if (isDeniedUrl(subscription.notificationUrl, deny)) {
      throw proxyError('ORION_NOTIFICATION_URL_DENIED', subscription.notificationUrl);
    }

    const headers = upstreamRequestHeaders(req.headers, NOT_FORWARDED, {
      'content-length': body.length,
    });
    const started = clock.monotonic();
    let answer: Awaited<ReturnType<typeof exchange>>;
    try {
      answer = await exchange(subscription.notificationUrl, {
        method: req.method ?? 'POST',
        headers,
        body,
        timeoutMs: config.accounting_proxy.backend_timeout,
        ...(lookup ? { lookup } : {}),
      });
    } catch (error) {
      log.warn(
        { subscriptionId, err: (error as Error).message },
        'subscriber did not take a notification',
      );
      throw proxyError('ORION_SUBSCRIBER_UNREACHABLE');
    }
    // What the buyer was sent is the notification itself.
    const head = {
      method: req.method ?? 'POST',
      url: subscription.notificationUrl,
      headers: req.headers,
    };
    await meters.start(module, buy.apiKey, head).end({
      answer: { status: answer.status, headers: answer.headers, bytes: body.length },
      requestBytes: body.length,
      elapsedMs: clock.monotonic() - started,
      outcome: 'complete',
    });
    res.writeHead(answer.status, { 'content-length': 0 });
    res.end();
  }

  const server: Server = createServer((req, res) => {
    deliver(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (isProxyError(error)) {
        log.warn({ code: error.code, status: error.status }, 'notification refused');
        return sendError(res, error);
      }
      log.error({ err: error }, 'notification failed');
      sendError(res, proxyError('NOTIFICATION_NOT_DELIVERED'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.resources.notification_port, config.resources.notification_bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
