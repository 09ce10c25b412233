import type { OutgoingHttpHeaders } from 'node:http';
import { exchange } from '../http/buffered-exchange.ts';
import type { Logger } from '../log.ts';
import { backendTarget } from '../services/backend-target.ts';
import type { Buy, Service, Store, Subscription } from '../store/store.ts';
import { parseJson, v1Unsubscribed } from './v1-answers.ts';

export interface SubscriptionCanceller {
  /** Cancels every subscription of the buy at Orion; failures are retried in the background. */
  cancelAll(buy: Buy): Promise<void>;
  /** Subscriptions that Orion has not confirmed cancelled yet. */
  readonly outstanding: number;
  stop(): void;
}

interface Cancellation {
  subscription: Subscription;
  service: Service;
}

/** Cancels one subscription the way its NGSI version does it; true once Orion no longer has it. */
async function cancel(
  { subscription, service }: Cancellation,
  timeoutMs: number,
): Promise<boolean> {
  const headers: OutgoingHttpHeaders = {};
  if (subscription.fiwareService) headers['fiware-service'] = subscription.fiwareService;
  if (subscription.fiwareServicePath)
    headers['fiware-servicepath'] = subscription.fiwareServicePath;
  const id = encodeURIComponent(subscription.subscriptionId);
  if (subscription.version === 'v2') {
    const target = backendTarget({ service, rest: `/v2/subscriptions/${id}` });
    const answer = await exchange(`${target.origin}${target.path}`, {
      method: 'DELETE',
      headers,
      timeoutMs,
    });
    return answer.status === 204 || answer.status === 404;
  }
  const target = backendTarget({ service, rest: '/v1/unsubscribeContext' });
  const body = Buffer.from(JSON.stringify({ subscriptionId: subscription.subscriptionId }));
  const answer = await exchange(`${target.origin}${target.path}`, {
    method: 'POST',
    headers: {
      ...headers,
      'content-type': 'application/json',
      accept: 'application/json',
      'content-length': body.length,
    },
    body,
    timeoutMs,
  });
  return v1Unsubscribed(answer.status, parseJson(answer.body));
}

/**
 * When a buy ends, its subscriptions must stop notifying: each is cancelled at Orion (v2 DELETE,
 * v1 unsubscribeContext, with the tenant headers it was created with). Those Orion does not confirm
 * are kept and retried until it does.
 */
export function createSubscriptionCanceller(options: {
  store: Store;
  timeoutMs: number;
  retryMs?: number;
  log: Logger;
}): SubscriptionCanceller {
  const { store, log } = options;
  let retry: Cancellation[] = [];
  const attempt = async (item: Cancellation) => {
    try {
      return await cancel(item, options.timeoutMs);
    } catch {
      return false;
    }
  };
  const timer = setInterval(async () => {
    const due = retry;
    retry = [];
    for (const item of due) if (!(await attempt(item))) retry.push(item);
  }, options.retryMs ?? 30_000);
  timer.unref();

  return {
    async cancelAll(buy) {
      const service = await store.getService(buy.publicPath);
      if (!service) return;
      for (const subscription of await store.listSubscriptions(buy.apiKey)) {
        const item = { subscription, service };
        if (await attempt(item)) continue;
        log.warn(
          { subscriptionId: subscription.subscriptionId },
          'Orion did not cancel a subscription; retrying',
        );
        retry.push(item);
      }
    },
    get outstanding() {
      return retry.length;
    },
    stop: () => clearInterval(timer),
  };
}
