/**
 * The Redis store's keys. All of them carry one hash tag, `{<prefix>}`: Redis Cluster keeps them
 * in one slot, so every script and transaction, each touching several of them, runs on one node.
 * (A buy's usage is checked against its routing data in the same script, which rules out
 * spreading one store over slots; several stores, by prefix, spread over a cluster.)
 */
export const STORE_KEYS = [
  'services',
  'admins',
  'bindings',
  'buys',
  'pending',
  'identities',
  'counters',
  'usage-writers',
  'specifications',
  'marketplace-keys',
  'subscriptions',
  'products',
  'clients',
  'ended-clients',
  'catalog',
  'settings',
  'windows',
  'limits',
  'limit-counters',
] as const;

export type StoreKey = (typeof STORE_KEYS)[number];

export interface StoreKeys {
  /** The Redis key of one of the store's fixed keys. */
  of(name: StoreKey): string;
  /** A named lock's key. */
  lock(name: string): string;
  /** The pub/sub channel routing changes are announced on (channels have no slot). */
  readonly changes: string;
}

export function storeKeys(prefix: string): StoreKeys {
  const tag = `{${prefix}}`;
  return {
    of: (name) => tag + name,
    lock: (name) => `${tag}lock:${name}`,
    changes: `${prefix}changes`,
  };
}
