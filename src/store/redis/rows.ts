/** The JSON values of the Redis store's hashes and the objects of store.ts they stand for. */
import type {
  Buy,
  BuyIdentity,
  MarketplaceKey,
  ReportableBuy,
  Service,
  ServiceCatalog,
  Subscription,
} from '../store.ts';

/** A buy as the scripts keep it in the `buys` hash (its amount not reported yet is in `pending`). */
export interface BuyEntry extends Omit<Buy, 'apiKey' | 'access' | 'terms'> {
  /** JSON of the buy's MarketplaceTerms. */
  terms?: string;
  seq: number;
  identity: string;
  revoked: boolean;
  meterFaults?: Record<string, number>;
  correlationNumber: number;
  /** The amount of the record waiting for the marketplace, exact (%.17g). */
  outboxValue?: string;
  /** What the marketplace accepted in all, exact (%.17g). */
  reported?: string;
  outboxDate?: string;
  /** A window's record (tmf4 mode): its window start and last usage, epoch ms as text. */
  outboxWindow?: string;
  outboxLastAt?: string;
  lastRecordDate?: string;
  /** JSON of a ReportStatus. */
  reportStatus?: string;
  /** An adapter buy's credentials, readiness and session (its total as %.17g). */
  clientKey?: string;
  clientPassword?: string;
  ready?: boolean;
  session?: { total: string; countedAt: number; open: boolean };
}

export const parseBuy = (json: string): BuyEntry => JSON.parse(json) as BuyEntry;

export const toBuy = (apiKey: string, b: BuyEntry): Buy => ({
  apiKey,
  publicPath: b.publicPath,
  orderId: b.orderId,
  productId: b.productId,
  customer: b.customer,
  unit: b.unit,
  recordType: b.recordType,
  ...(b.clientKey === undefined
    ? {}
    : { access: { clientKey: b.clientKey, clientPassword: b.clientPassword ?? '' } }),
  ...(b.terms === undefined ? {} : { terms: JSON.parse(b.terms) }),
});

/** The buys of the `buys` hash that are in force (not revoked), in the order they were bought. */
export const buysInForce = (hash: Record<string, string>): Buy[] =>
  Object.entries(hash)
    .map(([apiKey, json]) => ({ apiKey, entry: parseBuy(json) }))
    .filter(({ entry }) => !entry.revoked)
    .sort((a, b) => a.entry.seq - b.entry.seq)
    .map(({ apiKey, entry }) => toBuy(apiKey, entry));

export const toReportable = (
  apiKey: string,
  b: BuyEntry,
  pending: string | undefined,
): ReportableBuy & { seq: number } => ({
  ...toBuy(apiKey, b),
  pending: Number(pending ?? 0),
  correlationNumber: b.correlationNumber,
  outbox:
    b.outboxValue === undefined
      ? undefined
      : {
          correlationNumber: b.correlationNumber,
          value: Number(b.outboxValue),
          date:
            b.outboxLastAt === undefined
              ? (b.outboxDate ?? '')
              : new Date(Number(b.outboxLastAt)).toISOString(),
        },
  revoked: b.revoked,
  reportStatus: b.reportStatus === undefined ? undefined : JSON.parse(b.reportStatus),
  ...(b.meterFaults === undefined ? {} : { meterFaults: b.meterFaults }),
  ...(Number(b.reported ?? 0) > 0 ? { reported: Number(b.reported) } : {}),
  seq: b.seq,
});

export interface ServiceEntry {
  url: string;
  appId: string;
  /** Comma-separated. */
  methods: string;
  isContextBroker: '0' | '1';
  /** Absent in services stored before adapter services existed. */
  adapter?: '0' | '1';
  /** JSON of a ServiceCatalog; absent or '' for none. */
  catalog?: string;
}

const catalogOf = (json: string | undefined): ServiceCatalog | undefined => {
  if (!json) return undefined;
  const catalog = JSON.parse(json) as ServiceCatalog;
  return catalog.offerings.length + catalog.productSpecs.length > 0 ? catalog : undefined;
};

export const toService = (publicPath: string, json: string): Service => {
  const s = JSON.parse(json) as ServiceEntry;
  const catalog = catalogOf(s.catalog);
  return {
    publicPath,
    url: s.url,
    appId: s.appId,
    methods: s.methods === '' ? [] : s.methods.split(','),
    isContextBroker: s.isContextBroker === '1',
    ...(s.adapter === '1' ? { adapter: true } : {}),
    ...(catalog && { catalog }),
  };
};

export const toSubscription = (subscriptionId: string, json: string): Subscription => {
  const s = JSON.parse(json) as Omit<Subscription, 'subscriptionId'>;
  return {
    subscriptionId,
    apiKey: s.apiKey,
    notificationUrl: s.notificationUrl,
    version: s.version === 'v1' ? 'v1' : 'v2',
    secret: s.secret,
    fiwareService: s.fiwareService,
    fiwareServicePath: s.fiwareServicePath,
  };
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
