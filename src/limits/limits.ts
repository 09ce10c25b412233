/**
 * Limits an admin sets on a service, or on one buy of it: a rate of requests per second, minute or
 * hour, and a quota in the buy's unit per UTC day, UTC month or the buy's lifetime. Pure: the store
 * counts, the proxy path asks it.
 */
import { proxyError } from '../errors.ts';

export const RATE_UNITS = ['second', 'minute', 'hour'] as const;
export type RateUnit = (typeof RATE_UNITS)[number];
export const QUOTA_PERIODS = ['day', 'month', 'total'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

export interface RateLimit {
  /** Requests admitted per window. */
  limit: number;
  per: RateUnit;
}

export interface Quota {
  /** In the buy's unit (calls, MB, ms, tokens…). */
  amount: number;
  period: QuotaPeriod;
}

export interface Limits {
  rate?: RateLimit;
  quota?: Quota;
}

const WINDOW_MS: Record<RateUnit, number> = { second: 1000, minute: 60_000, hour: 3_600_000 };

export const rateWindowMs = (rate: RateLimit) => WINDOW_MS[rate.per];

const RATE_SPEC = new RegExp(`^(\\d+)/(${RATE_UNITS.join('|')})$`);
const QUOTA_SPEC = new RegExp(`^(\\d+(?:\\.\\d+)?)/(${QUOTA_PERIODS.join('|')})$`);

/** `5/second`: a whole number of requests, at least 1, per second, minute or hour. */
export function parseRate(spec: string): RateLimit {
  const match = RATE_SPEC.exec(spec.trim());
  const limit = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(limit) || limit < 1) {
    throw proxyError(
      'LIMITS_INVALID',
      `A rate is <requests>/<second|minute|hour> with a whole number ≥ 1, not "${spec}".`,
    );
  }
  return { limit, per: match[2] as RateUnit };
}

/** `10000/month`: an amount ≥ 0 of the buy's unit per day, month or total. */
export function parseQuota(spec: string): Quota {
  const match = QUOTA_SPEC.exec(spec.trim());
  const amount = Number(match?.[1]);
  if (!match || !Number.isFinite(amount)) {
    throw proxyError(
      'LIMITS_INVALID',
      `A quota is <amount>/<day|month|total> with an amount ≥ 0, not "${spec}".`,
    );
  }
  return { amount, period: match[2] as QuotaPeriod };
}

export const formatRate = (rate: RateLimit) => `${rate.limit}/${rate.per}`;
export const formatQuota = (quota: Quota) => `${quota.amount}/${quota.period}`;

/** The buy's own limits override the service's, each kind on its own. */
export function effectiveLimits(
  service: Limits | undefined,
  buy: Limits | undefined,
): Limits | undefined {
  const rate = buy?.rate ?? service?.rate;
  const quota = buy?.quota ?? service?.quota;
  if (!rate && !quota) return undefined;
  return { ...(rate && { rate }), ...(quota && { quota }) };
}

/** Limits as the store lists them: of a service (no `apiKey`), or of one buy. */
export interface LimitsSetting {
  publicPath: string;
  apiKey?: string;
  limits: Limits;
}

type LimitsResolver = (buy: { apiKey: string; publicPath: string }) => Limits | undefined;

// One resolver per list: a routing state's list is asked for every adapter session event.
const resolvers = new WeakMap<readonly LimitsSetting[], LimitsResolver>();

/** Each buy's limits in force, from the limits set on services and buys. */
export function limitsResolver(settings: readonly LimitsSetting[]): LimitsResolver {
  let resolver = resolvers.get(settings);
  if (!resolver) {
    resolver = resolverOf(settings);
    resolvers.set(settings, resolver);
  }
  return resolver;
}

function resolverOf(settings: readonly LimitsSetting[]): LimitsResolver {
  const ofService = new Map<string, Limits>();
  const ofBuy = new Map<string, Limits>();
  for (const { publicPath, apiKey, limits } of settings) {
    if (apiKey === undefined) ofService.set(publicPath, limits);
    else ofBuy.set(apiKey, limits);
  }
  if (settings.length === 0) return () => undefined;
  return (buy) => effectiveLimits(ofService.get(buy.publicPath), ofBuy.get(buy.apiKey));
}

/** The rate window a moment falls in: its number since the epoch and when it ends (epoch ms). */
export function rateWindowAt(rate: RateLimit, nowMs: number): { index: number; endsAt: number } {
  const length = rateWindowMs(rate);
  const index = Math.floor(nowMs / length);
  return { index, endsAt: (index + 1) * length };
}

/**
 * The quota period a moment falls in: a key that orders as the periods do (`2026-12-06`,
 * `2026-12`, `total`) and when it ends (epoch ms; never, for `total`).
 */
export function quotaPeriodAt(
  period: QuotaPeriod,
  nowMs: number,
): { key: string; endsAt: number | undefined } {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const day = now.getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  if (period === 'day') {
    return {
      key: `${year}-${pad(month + 1)}-${pad(day)}`,
      endsAt: Date.UTC(year, month, day + 1),
    };
  }
  if (period === 'month') {
    return { key: `${year}-${pad(month + 1)}`, endsAt: Date.UTC(year, month + 1, 1) };
  }
  return { key: 'total', endsAt: undefined };
}

/** `rate 5/second, quota 10000/month`, or `none`. */
export function describeLimits(limits: Limits | undefined): string {
  const parts = [
    ...(limits?.rate ? [`rate ${formatRate(limits.rate)}`] : []),
    ...(limits?.quota ? [`quota ${formatQuota(limits.quota)}`] : []),
  ];
  return parts.join(', ') || 'none';
}
