/**
 * What the store keeps for limits: the limits an admin set on a service or on one buy (part of the
 * routing state, so the proxy path knows without asking which buys are limited), and per buy the
 * requests of the current rate window and the amount spent in the current quota period. Every
 * admission is one atomic step (a SQLite transaction, a Lua script), so any number of proxies on one
 * store together admit no more than a limit.
 */
import type { Admission, AdmissionRequest, LimitCounters, Limits } from '../limits/counting.ts';
import type { LimitsSetting } from '../limits/limits.ts';

export type { Admission, AdmissionRequest, LimitCounters, Limits } from '../limits/counting.ts';

/** Limits on a service (`apiKey` absent) or on one buy of it. */
export type LimitsEntry = LimitsSetting;

export interface LimitStore {
  /**
   * Sets (or, with undefined, clears) the limits of a service, or of one buy of it named by order
   * and product. SERVICE_NOT_FOUND, LIMITS_BUY_NOT_FOUND. Changes the routing version.
   */
  setLimits(
    publicPath: string,
    limits: Limits | undefined,
    buy?: { orderId: string; productId: string },
  ): Promise<void>;
  /** Every limit set, service-wide first; loaded with the routing state. */
  listLimits(): Promise<LimitsEntry[]>;
  /** Counts the request against its buy's window and period, or refuses it, in one atomic step. */
  admit(request: AdmissionRequest): Promise<Admission>;
  /** Every buy's counters, for gauges and a buyer's view of its usage. */
  listLimitCounters(): Promise<LimitCounters[]>;
  /** Gives back a reservation of `period` (a request the backend never answered); no-op after it. */
  releaseReservation(apiKey: string, period: string, amount: number): Promise<void>;
}
