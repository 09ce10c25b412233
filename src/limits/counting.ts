/**
 * What the store counts for limits, as values: the question one request asks of its buy's
 * counters, the answer, and the counters themselves. The store (src/store/limits.ts) answers.
 */
export type { Limits } from './limits.ts';

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

/** A buy's counters as the store keeps them: of its latest rate window and quota period. */
export interface LimitCounters {
  apiKey: string;
  rateWindow?: number;
  rateCount: number;
  quotaPeriod?: string;
  quotaSpent: number;
}
