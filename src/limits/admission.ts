/**
 * One request's admission against its buy's limits: what to ask the store, and what the answer
 * tells the client — the IETF RateLimit-Policy and RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers) and, for a refusal, Retry-After.
 */
import type { Admission, AdmissionRequest } from './counting.ts';
import {
  type Limits,
  type QuotaPeriod,
  quotaPeriodAt,
  rateWindowAt,
  rateWindowMs,
} from './limits.ts';

export interface AdmissionPlan {
  request: AdmissionRequest;
  /** When the rate window ends (epoch ms). */
  rateEndsAt?: number;
  /** When the quota period ends (epoch ms; never for `total`). */
  quotaEndsAt?: number | undefined;
}

/**
 * What to ask the store for a request at `nowMs`: its rate window, and its quota period with
 * `reserve` (what the request is known to cost before it is answered: 1 for `call`, else 0).
 */
export function planAdmission(
  apiKey: string,
  limits: Limits,
  reserve: number,
  nowMs: number,
): AdmissionPlan {
  const plan: AdmissionPlan = { request: { apiKey } };
  if (limits.rate) {
    const window = rateWindowAt(limits.rate, nowMs);
    plan.request.rate = { window: window.index, limit: limits.rate.limit };
    plan.rateEndsAt = window.endsAt;
  }
  if (limits.quota) {
    const period = quotaPeriodAt(limits.quota.period, nowMs);
    plan.request.quota = { period: period.key, amount: limits.quota.amount, reserve };
    plan.quotaEndsAt = period.endsAt;
  }
  return plan;
}

const PERIOD_SECONDS: Record<Exclude<QuotaPeriod, 'total'>, number> = {
  day: 86_400,
  month: 2_592_000,
};

const secondsUntil = (endsAt: number, nowMs: number) =>
  Math.max(1, Math.ceil((endsAt - nowMs) / 1000));

/**
 * The RateLimit-Policy and RateLimit fields of an answer: one policy per limit, `rate` (requests
 * per window) and `quota` (in the buy's unit: `qu="requests"` for calls; a month's window is given
 * as 30 days; a `total` quota has none). Remaining amounts are whole numbers, rounded down.
 */
export function rateLimitFields(
  limits: Limits,
  plan: AdmissionPlan,
  admission: Admission,
  unit: string,
  nowMs: number,
): { 'ratelimit-policy': string; ratelimit: string } {
  const policies: string[] = [];
  const current: string[] = [];
  if (limits.rate && plan.rateEndsAt !== undefined) {
    const window = rateWindowMs(limits.rate) / 1000;
    policies.push(`"rate";q=${limits.rate.limit};w=${window};qu="requests"`);
    const remaining = Math.max(0, limits.rate.limit - (admission.rateCount ?? 0));
    current.push(`"rate";r=${remaining};t=${secondsUntil(plan.rateEndsAt, nowMs)}`);
  }
  if (limits.quota) {
    const { amount, period } = limits.quota;
    const window = period === 'total' ? '' : `;w=${PERIOD_SECONDS[period]}`;
    const quotaUnit = unit === 'call' ? ';qu="requests"' : '';
    policies.push(`"quota";q=${Math.floor(amount)}${window}${quotaUnit}`);
    const remaining = Math.max(0, Math.floor(amount - (admission.quotaSpent ?? 0)));
    const reset =
      plan.quotaEndsAt === undefined ? '' : `;t=${secondsUntil(plan.quotaEndsAt, nowMs)}`;
    current.push(`"quota";r=${remaining}${reset}`);
  }
  return { 'ratelimit-policy': policies.join(', '), ratelimit: current.join(', ') };
}

/**
 * Seconds until a refused request may succeed: the rate window's end, or the quota period's; none
 * for a `total` quota, which never renews.
 */
export function retryAfter(
  plan: AdmissionPlan,
  admission: Admission,
  nowMs: number,
): number | undefined {
  if (admission.refusedBy === 'rate' && plan.rateEndsAt !== undefined) {
    return secondsUntil(plan.rateEndsAt, nowMs);
  }
  if (admission.refusedBy === 'quota' && plan.quotaEndsAt !== undefined) {
    return secondsUntil(plan.quotaEndsAt, nowMs);
  }
  return undefined;
}
