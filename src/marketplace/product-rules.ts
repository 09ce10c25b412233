/**
 * What a TMF637 product says, read as the marketplaces write it (../shared/reference/tmf-v4.md,
 * B1 and B4): whether it grants access now, which of its parties is the customer, which of its
 * prices is a usage price. Pure functions of the product.
 */
import type { TmfEntity } from './tmf-client.ts';

export type Access = 'granted' | 'ended' | 'not-yet';

// `aborted ` is written with a trailing space in the TMF spec itself.
const ENDED = new Set(['suspended', 'pendingterminate', 'terminated', 'cancelled', 'aborted']);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

const time = (value: unknown): number | undefined => {
  const parsed = text(value) === undefined ? Number.NaN : Date.parse(value as string);
  return Number.isNaN(parsed) ? undefined : parsed;
};

/**
 * `granted` while the product is active and within its start and termination dates; `ended` once
 * suspended, terminating, terminated, cancelled, aborted or past its termination date; `not-yet`
 * for a product created, pending or before its start date.
 */
export function accessOf(product: TmfEntity, nowMs: number): Access {
  const status = (text(product.status) ?? '').trim().toLowerCase();
  const termination = time(product.terminationDate);
  if (ENDED.has(status) || (termination !== undefined && nowMs >= termination)) return 'ended';
  const start = time(product.startDate);
  if (status === 'active' && (start === undefined || start <= nowMs)) return 'granted';
  return 'not-yet';
}

/** The id of a reference (`{id, href, …}`), if it has one. */
export const refId = (ref: unknown): string | undefined =>
  typeof ref === 'object' && ref !== null ? text((ref as TmfEntity).id) : undefined;

/**
 * A usage price: `priceType` usage, pay-per-use or payPerUse in any case and with any separators,
 * as DOME's billing engine reads it.
 */
export function isUsagePriceType(priceType: unknown): boolean {
  const words = (text(priceType) ?? '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  return words === 'usage' || words === 'payperuse';
}

export interface CustomerParty {
  id: string;
  name: string | undefined;
  referredType: string;
}

/** The first related party whose role is a customer role (roles compared in lower case). */
export function customerPartyOf(
  product: TmfEntity,
  roles: readonly string[],
): CustomerParty | undefined {
  const parties = Array.isArray(product.relatedParty) ? product.relatedParty : [];
  for (const party of parties as TmfEntity[]) {
    const role = (text(party?.role) ?? '').toLowerCase();
    const id = text(party?.id);
    if (id && roles.includes(role)) {
      return {
        id,
        name: text(party.name),
        referredType: text(party['@referredType']) ?? 'Organization',
      };
    }
  }
  return undefined;
}

const ELSI = 'did:elsi:';

/** A key as written and without (or with) DOME's `did:elsi:` prefix: both forms are seen. */
export const keyVariants = (key: string): string[] =>
  key.startsWith(ELSI) ? [key, key.slice(ELSI.length)] : [key, `${ELSI}${key}`];

/**
 * What identifies a party besides its id: the `name` of its external references (the BAE writes
 * the Keyrock `idm_id` there) and its `did` characteristic.
 */
export function partyKeys(party: TmfEntity): string[] {
  const keys: string[] = [];
  const references = Array.isArray(party.externalReference) ? party.externalReference : [];
  for (const reference of references as TmfEntity[]) {
    const name = text(reference?.name);
    if (name) keys.push(name);
  }
  const characteristics = Array.isArray(party.partyCharacteristic) ? party.partyCharacteristic : [];
  for (const characteristic of characteristics as TmfEntity[]) {
    const value = text(characteristic?.value);
    if (value && text(characteristic.name)?.toLowerCase() === 'did') keys.push(value);
  }
  return keys;
}
