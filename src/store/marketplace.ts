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
