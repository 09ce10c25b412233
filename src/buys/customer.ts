import type { IdmUser } from '../auth/idm-client.ts';
import type { Buy } from '../store/store.ts';

/**
 * Whether the user is the buy's customer: the buy's own customer id, or (a purchase of the TMF v4
 * marketplace) any key of its customer party — the user's id, or the id of an organization the
 * user acts for. The one seam where identities meet purchases: JWT identities come in here too.
 */
export function isCustomerOf(buy: Buy, user: Pick<IdmUser, 'id' | 'organizations'>): boolean {
  if (!buy.terms) return buy.customer === user.id;
  const keys = buy.terms.customerKeys;
  return keys.includes(user.id) || user.organizations.some((org) => keys.includes(org.id));
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
