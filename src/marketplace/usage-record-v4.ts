/**
 * One window's usage of a product as a TMF635 v4 Usage (tmf-v4.md B2, B5): what DOME's billing
 * engine reads (ratedProductUsage[].productRef.id, usageDate, usageCharacteristic named as the
 * price's unit) and what tmforum-api checks (relatedParty ids with @referredType, the usage spec).
 * Its id is derived from (product, unit, window start), so a resend is the same record.
 */
import { v5 as uuidV5 } from 'uuid';
import type { Buy, MarketplaceTerms, WindowRecord } from '../store/store.ts';

// A namespace of this project's own for the record ids (a UUID v5 of the project's name).
const RECORD_NAMESPACE = uuidV5('accounting-proxy:tmf635-usage', uuidV5.URL);
const HOUR_MS = 3_600_000;

export type MarketplaceBuy = Buy & { terms: MarketplaceTerms };

export interface UsageRecordV4 {
  /** `urn:ngsi-ld:usage:<uuid v5>`. */
  id: string;
  /** What the record's description is, to find it again after an unknown outcome of a POST. */
  marker: string;
  body: Record<string, unknown>;
}

/**
 * DOME bills the usages whose usageDate lies in a billing period, both ends included: a date on
 * an hour boundary or on the window's start could fall into two periods, so it moves 1 ms on.
 */
function usageDate(record: WindowRecord): string {
  let at = Date.parse(record.date);
  if (at === record.window || at % HOUR_MS === 0) at += 1;
  return new Date(at).toISOString();
}

export function usageRecordV4(
  buy: MarketplaceBuy,
  record: WindowRecord,
  seller: string,
): UsageRecordV4 {
  const key = uuidV5(`${buy.productId}|${buy.unit}|${record.window}`, RECORD_NAMESPACE);
  const marker = `accounting-proxy usage ${key}`;
  const { terms } = buy;
  return {
    id: `urn:ngsi-ld:usage:${key}`,
    marker,
    body: {
      description: marker,
      usageDate: usageDate(record),
      usageType: 'accounting-proxy',
      status: 'received',
      ratedProductUsage: [
        {
          productRef: {
            id: buy.productId,
            ...(terms.productHref && { href: terms.productHref }),
            ...(terms.productName && { name: terms.productName }),
          },
        },
      ],
      relatedParty: [
        { id: seller, role: 'Seller', '@referredType': 'Organization' },
        { id: buy.customer, role: 'Buyer', '@referredType': terms.customerType },
      ],
      usageCharacteristic: [{ name: terms.unitName, valueType: 'number', value: record.value }],
      ...(terms.usageSpecId && { usageSpecification: { id: terms.usageSpecId } }),
    },
  };
}
