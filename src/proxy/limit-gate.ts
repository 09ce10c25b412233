import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccountingModule } from '../accounting/module.ts';
import type { Clock } from '../clock.ts';
import { proxyError } from '../errors.ts';
import { sendError } from '../http/send-error.ts';
import { planAdmission, rateLimitFields, retryAfter } from '../limits/admission.ts';
import type { Limits } from '../limits/limits.ts';
import type { Logger } from '../log.ts';
import type { ExchangeTrace } from '../ops/exchange-trace.ts';
import type { Buy, Store } from '../store/store.ts';

/** What an admitted request carries on to its exchange. */
export interface Grant {
  /** RateLimit-Policy and RateLimit, for the answer. */
  headers: Record<string, string>;
  /** The quota period its metered amount is spent in (a quota that reserved nothing). */
  quotaPeriod?: string;
  /** Gives back what was reserved, for an exchange the backend never answered. */
  release?: () => void;
}

export interface LimitGate {
  /**
   * Counts the request against its buy's limits in one store step: `admitted` runs with its grant,
   * or the client gets 429 (Retry-After, RateLimit fields) or, the store out of reach, 503.
   */
  check(
    req: IncomingMessage,
    res: ServerResponse,
    trace: ExchangeTrace,
    buy: Buy,
    module: AccountingModule,
    limits: Limits,
    admitted: (grant: Grant) => void,
  ): void;
}

export function createLimitGate(options: {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Answers a refusal that is not a limit's, as the proxy path does. */
  refuse(
    res: ServerResponse,
    trace: ExchangeTrace,
    code: 'STORE_UNAVAILABLE' | 'API_KEY_INVALID',
  ): void;
}): LimitGate {
  const { store, clock, log } = options;
  return {
    check(req, res, trace, buy, module, limits, admitted) {
      const now = clock.now();
      const reserve = module.perExchange ?? 0;
      const plan = planAdmission(buy.apiKey, limits, reserve, now);
      const period = plan.request.quota?.period;
      store.admit(plan.request).then(
        (admission) => {
          if (res.destroyed) {
            // The client left while the store answered: nothing was forwarded.
            if (admission.admitted && reserve > 0 && period !== undefined) {
              void release(buy.apiKey, period, reserve);
            }
            return;
          }
          const headers = rateLimitFields(limits, plan, admission, buy.unit, now);
          if (admission.admitted) {
            const grant: Grant = { headers };
            if (period !== undefined) {
              if (reserve > 0) grant.release = () => void release(buy.apiKey, period, reserve);
              else grant.quotaPeriod = period;
            }
            admitted(grant);
            return;
          }
          // A buy revoked between the routing table and the store: its key is no longer valid.
          if (!admission.refusedBy) return options.refuse(res, trace, 'API_KEY_INVALID');
          const error =
            admission.refusedBy === 'rate' && limits.rate
              ? proxyError('RATE_LIMITED', limits.rate.limit, limits.rate.per)
              : proxyError(
                  'QUOTA_EXCEEDED',
                  limits.quota?.amount ?? 0,
                  buy.unit,
                  limits.quota?.period ?? 'total',
                );
          const seconds = retryAfter(plan, admission, now);
          for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
          if (seconds !== undefined) res.setHeader('retry-after', String(seconds));
          res.setHeader('x-request-id', trace.id);
          log.info(
            { requestId: trace.id, code: error.code, method: req.method, service: buy.publicPath },
            'request limited',
          );
          trace.limited(error.code, sendError(res, error));
        },
        (error: unknown) => {
          log.error({ err: error, requestId: trace.id }, 'limit check failed');
          if (!res.destroyed) options.refuse(res, trace, 'STORE_UNAVAILABLE');
        },
      );
    },
  };

  async function release(apiKey: string, period: string, amount: number) {
    try {
      await store.releaseReservation(apiKey, period, amount);
    } catch (error) {
      // Fails closed for the buyer: one unit stays spent that the backend never served.
      log.warn({ err: error, apiKey: apiKey.slice(0, 8) }, 'quota reservation not given back');
    }
  }
}
