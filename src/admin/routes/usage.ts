import type { RequestHandler } from 'express';
import type { IdmUser } from '../../auth/idm-client.ts';
import { isCustomerOf } from '../../buys/customer.ts';
import type { Clock } from '../../clock.ts';
import { proxyError } from '../../errors.ts';
import type { LimitCounters } from '../../limits/counting.ts';
import { type Limits, limitsResolver } from '../../limits/limits.ts';
import { quotaStanding } from '../../limits/over-quota.ts';
import type { Buy, RoutingState, Store } from '../../store/store.ts';
import { userOf } from '../authenticate.ts';

/** The buys a user may see: its own, and every buy of the services it administers. */
function visibleBuys(state: RoutingState, user: IdmUser): { buy: Buy; own: boolean }[] {
  const administered = new Set(
    state.bindings.filter((b) => b.adminId === user.id).map((b) => b.publicPath),
  );
  return state.buys.flatMap((buy) => {
    const own = isCustomerOf(buy, user);
    return own || administered.has(buy.publicPath) ? [{ buy, own }] : [];
  });
}

/** The quota as a buyer reads it: what the current period has spent, what is left, when it renews. */
function quotaView(limits: Limits, counters: LimitCounters | undefined, nowMs: number) {
  if (!limits.quota) return undefined;
  const { amount, period } = limits.quota;
  const { spent, endsAt } = quotaStanding(limits.quota, counters, nowMs);
  return {
    amount,
    period,
    spent,
    remaining: Math.max(0, amount - spent),
    ...(endsAt === undefined ? {} : { renewsAt: new Date(endsAt).toISOString() }),
  };
}

/**
 * `GET usage`: per buy the caller may see (its own; with `X-API-Key`, that one only; an admin of
 * a service, every buy of it): the unit, what is metered and not yet accepted by the marketplace
 * (`pending`, an unsent record included), what it accepted (`reported`), and the limits with the
 * current quota period's figures. Another customer's API key is never shown.
 */
export function usageRoute(store: Store, clock: Clock): RequestHandler {
  return async (req, res) => {
    const user = userOf(res);
    const state = await store.loadRoutingState();
    let buys = visibleBuys(state, user);
    const apiKey = req.headers['x-api-key'];
    if (typeof apiKey === 'string' && apiKey !== '') {
      buys = buys.filter(({ buy }) => buy.apiKey === apiKey);
      if (buys.length === 0) throw proxyError('API_KEY_INVALID');
    }
    const limitsOf = limitsResolver(state.limits);
    const counters = new Map(
      state.limits.length === 0
        ? []
        : (await store.listLimitCounters()).map((c) => [c.apiKey, c] as const),
    );
    const usageOf = new Map((await store.listUsage()).map((b) => [b.apiKey, b] as const));
    const now = clock.now();
    res.status(200).json(
      buys.map(({ buy, own }) => {
        const usage = usageOf.get(buy.apiKey);
        const limits = limitsOf(buy);
        const quota = limits && quotaView(limits, counters.get(buy.apiKey), now);
        return {
          ...(own ? { apiKey: buy.apiKey } : {}),
          service: buy.publicPath,
          orderId: buy.orderId,
          productId: buy.productId,
          customer: buy.customer,
          unit: buy.unit,
          pending: (usage?.pending ?? 0) + (usage?.outbox?.value ?? 0),
          reported: usage?.reported ?? 0,
          ...(limits?.rate ? { rate: limits.rate } : {}),
          ...(quota ? { quota } : {}),
        };
      }),
    );
  };
}
