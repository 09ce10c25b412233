/**
 * Why the buy's outbox record has not reached the marketplace yet. Absent while reporting is fine;
 * cleared when the record is completed.
 */
export interface ReportStatus {
  /**
   * `unknown`: the last send had no answer (timeout, cut connection, 5xx), it is resent identical;
   * `rejected`: the marketplace refused the record as it stands, it is resent once per scheduled
   * cycle; `out-of-step`: the marketplace expects another correlation number, nothing is sent
   * until an operator resumes the buy.
   */
  state: 'unknown' | 'rejected' | 'out-of-step';
  /** The marketplace's message, or what went wrong. */
  message: string;
  /** ISO 8601: when the record first got into this state. */
  since: string;
  /** ISO 8601: when the record was last sent. */
  lastAttempt: string;
  /** The correlation number the marketplace expects (`out-of-step`). */
  expected?: number;
}
