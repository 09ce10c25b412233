/**
 * What the store keeps for limits: the limits an admin set on a service or on one buy (part of the
 * routing state, so the proxy path knows without asking which buys are limited), and per buy the
 * requests of the current rate window and the amount spent in the current quota period. Every
 * admission is one atomic step (a SQLite transaction, a Lua script), so any number of proxies on one
 * store together admit no more than a limit.
 */
import type { Limits } from '../limits/limits.ts';

export type { Limits } from '../limits/limits.ts';

/** Limits on a service (`apiKey` absent) or on one buy of it. */
export interface LimitsEntry {
  publicPath: string;
  apiKey?: string;
  limits: Limits;
}

/** What one request asks of a buy's counters; the caller computes windows and periods. */
export interface AdmissionRequest {
  apiKey: string;
  /** The rate window the request falls in (its number) and how many requests a window admits. */
  rate?: { window: number; limit: number };
  /**
   * The quota period the request falls in (its key; keys order as periods do), the quota, and
   * what the request reserves: 1 for a `call`, 0 for units known only after the answer.
   */
  quota?: { period: string; amount: number; reserve: number };
}

export interface Admission {
  admitted: boolean;
  /** Which limit refused (the rate is checked first). */
  refusedBy?: 'rate' | 'quota';
  /** Requests counted in the window, this one included when admitted. */
  rateCount?: number;
  /** Spent in the period, this request's reservation included when admitted. */
  quotaSpent?: number;
}

export interface LimitStore {
  /**
   * Sets (or, with undefined, clears) the limits of a service, or of one buy of it named by order
   * and product. SERVICE_NOT_FOUND, BUY_NOT_FOUND. Changes the routing version.
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
  /** Gives back a reservation of `period` (a request the backend never answered); no-op after it. */
  releaseReservation(apiKey: string, period: string, amount: number): Promise<void>;
}
