/** What the store keeps of the TMF v4 marketplace (tmf4 mode): part of Service and Buy (store.ts). */

/** The catalog ids whose products are a service's buys. */
export interface ServiceCatalog {
  offerings: string[];
  productSpecs: string[];
}

export interface MarketplaceTerms {
  /** What identifies the customer party (its id, names, DIDs): a consumer who is any of them. */
  customerKeys: string[];
  /** The customer party's `@referredType` (Organization, Individual). */
  customerType: string;
  /** The usage price's `unitOfMeasure.units`: the name of the unit in usage records. */
  unitName: string;
  usageSpecId?: string;
  productHref?: string;
  productName?: string;
}

/** Values the proxy keeps for itself, such as the secret of its TMF event listener's path. */
export interface SettingsStore {
  /**
   * The setting's value: the one stored, or `value` when there is none yet, stored atomically so
   * that every process sharing the store gets the same.
   */
  claimSetting(name: string, value: string): Promise<string>;
}

/**
 * The usage window of a group commit (tmf4 mode): a buy with marketplace terms keeps its usage per
 * window as well, so that each window becomes one usage record dated within it.
 */
export interface UsageWindow {
  /** Epoch ms of the window's start. */
  start: number;
  /** Epoch ms of the commit: the window's last usage so far. */
  at: number;
  /**
   * The windows' length. A batch whose window was already taken into a record (a commit retried
   * past the window's report) counts in the window after the last one taken, never in a record
   * already sent.
   */
  length: number;
}

/** A window's usage record, taken into the buy's outbox. */
export interface WindowRecord {
  apiKey: string;
  /** Epoch ms of the window's start. */
  window: number;
  value: number;
  /** ISO 8601: when the window's last usage was committed. */
  date: string;
  /** The buy's record sequence number, for completeRecord. */
  correlationNumber: number;
}

export interface WindowStore {
  /**
   * The buy's next usage record: the one in its outbox (resent as it is), else the oldest window
   * that started before `closedBefore`, taken out of pending into the outbox in one atomic step.
   * Undefined when there is none.
   */
  prepareWindowRecord(apiKey: string, closedBefore: number): Promise<WindowRecord | undefined>;
}
