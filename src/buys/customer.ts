import type { IdmUser } from '../auth/idm-client.ts';
import type { Buy } from '../store/store.ts';

// DOME writes an organization's identifier both bare (`VATES-B12341234`, the LEAR credential's
// organizationIdentifier) and as a DID (`did:elsi:VATES-B12341234`, the party's external id).
const ELSI = 'did:elsi:';
const bare = (key: string) => (key.startsWith(ELSI) ? key.slice(ELSI.length) : key);

/** Whether a party key and a user's key name the same party, with or without `did:elsi:`. */
export const sameParty = (partyKey: string, userKey: string) =>
  partyKey === userKey || bare(partyKey) === bare(userKey);

/**
 * Whether the user is the buy's customer: the buy's own customer id, or (a purchase of the TMF v4
 * marketplace) any key of its customer party — the user's id, or the id of an organization the
 * user acts for. The one seam where identities meet purchases: JWT identities come in here too.
 */
export function isCustomerOf(buy: Buy, user: Pick<IdmUser, 'id' | 'organizations'>): boolean {
  if (!buy.terms) return sameParty(buy.customer, user.id);
  const keys = buy.terms.customerKeys;
  return keys.some(
    (key) => sameParty(key, user.id) || user.organizations.some((org) => sameParty(key, org.id)),
  );
}

/** The user's purchase among a service's TMF v4 purchases, when it is the only one. */
export function soleMarketplaceBuy(
  buys: readonly Buy[],
  user: Pick<IdmUser, 'id' | 'organizations'>,
): Buy | undefined {
  let found: Buy | undefined;
  for (const buy of buys) {
    if (!isCustomerOf(buy, user)) continue;
    if (found) return undefined;
    found = buy;
  }
  return found;
}
