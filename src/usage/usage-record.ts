import type { OutboxRecord, ReportableBuy } from '../store/store.ts';

/** A TMF635 usage record, in the shape the marketplace's charging engine accepts. */
export interface UsageRecord {
  date: string;
  type: string;
  status: 'Received';
  usageSpecification: { href: string; name: string };
  usageCharacteristic: { name: string; value: string | number }[];
  relatedParty: { role: 'customer'; id: string; href: string }[];
}

/**
 * The record for a buy's outbox entry. Built only from what the outbox holds, so a resend after a
 * failure is byte-for-byte the record sent before.
 */
export function usageRecord(
  buy: ReportableBuy & { outbox: OutboxRecord },
  specificationHref: string,
  usageApiUrl: string,
): UsageRecord {
  const origin = new URL(usageApiUrl).origin;
  return {
    date: buy.outbox.date,
    type: buy.recordType,
    status: 'Received',
    usageSpecification: { href: specificationHref, name: buy.unit },
    usageCharacteristic: [
      { name: 'orderId', value: buy.orderId },
      { name: 'productId', value: buy.productId },
      { name: 'correlationNumber', value: buy.outbox.correlationNumber },
      { name: 'unit', value: buy.unit },
      { name: 'value', value: buy.outbox.value },
    ],
    relatedParty: [
      {
        role: 'customer',
        id: buy.customer,
        href: `${origin}/partyManagement/individual/${buy.customer}`,
      },
    ],
  };
}
