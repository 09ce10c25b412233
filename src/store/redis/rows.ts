/** Redis hashes of the store and the objects of store.ts they stand for. */
import type {
  Buy,
  BuyIdentity,
  MarketplaceKey,
  ReportableBuy,
  Service,
  Subscription,
} from '../store.ts';

export type Hash = Record<string, string>;

export const toBuy = (apiKey: string, hash: Hash): Buy => ({
  apiKey,
  publicPath: hash.publicPath ?? '',
  orderId: hash.orderId ?? '',
  productId: hash.productId ?? '',
  customer: hash.customer ?? '',
  unit: hash.unit ?? '',
  recordType: hash.recordType ?? '',
});

export const toReportable = (apiKey: string, hash: Hash): ReportableBuy & { seq: number } => ({
  ...toBuy(apiKey, hash),
  pending: Number(hash.pending ?? 0),
  correlationNumber: Number(hash.correlationNumber ?? 0),
  outbox:
    hash.outboxValue === undefined
      ? undefined
      : {
          correlationNumber: Number(hash.correlationNumber ?? 0),
          value: Number(hash.outboxValue),
          date: hash.outboxDate ?? '',
        },
  revoked: hash.revoked === '1',
  reportStatus: hash.reportStatus === undefined ? undefined : JSON.parse(hash.reportStatus),
  seq: Number(hash.seq ?? 0),
});

export const toService = (publicPath: string, hash: Record<string, string | null>): Service => ({
  publicPath,
  url: hash.url ?? '',
  appId: hash.appId ?? '',
  methods: (hash.methods ?? '').split(','),
  isContextBroker: hash.isContextBroker === '1',
});

export const toSubscription = (subscriptionId: string, hash: Hash): Subscription | undefined =>
  hash.apiKey === undefined
    ? undefined
    : {
        subscriptionId,
        apiKey: hash.apiKey,
        notificationUrl: hash.notificationUrl ?? '',
        version: hash.version === 'v1' ? 'v1' : 'v2',
        secret: hash.secret ?? '',
        fiwareService: hash.fiwareService ?? '',
        fiwareServicePath: hash.fiwareServicePath ?? '',
      };

/** A marketplace key's entry: the JSON value of its field in the `marketplace-keys` hash. */
export interface MarketplaceKeyEntry {
  seq: number;
  receivedAt: string;
  state: MarketplaceKey['state'];
  checkedAt?: string;
}

// JSON keeps the four fields apart: no concatenation of ids can collide with another.
export const identityKey = ({ orderId, productId, customer, publicPath }: BuyIdentity) =>
  JSON.stringify([orderId, productId, customer, publicPath]);

/** Same order as SQLite's default (binary) collation for the identifiers we store. */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
