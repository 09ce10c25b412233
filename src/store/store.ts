import type { AdapterStore, ClientAccess } from './adapter.ts';
import type { LimitStore, LimitsEntry } from './limits.ts';
import type {
  MarketplaceTerms,
  ServiceCatalog,
  SettingsStore,
  UsageWindow,
  WindowStore,
} from './marketplace.ts';
import type { ReportStatus } from './report-status.ts';

export type * from './marketplace.ts';
export type { ReportStatus } from './report-status.ts';

/**
 * The Store: everything accounting-proxy keeps, as one narrow interface per concern. Two
 * implementations (sqlite/, redis/: one file per concern each) behave identically; the contract
 * suites in test/store/contract/ hold them to it.
 */

export interface Service {
  /** `/weather`, or a complete path with query such as `/a/b?x=1`. */
  publicPath: string;
  /** Backend base URL, without trailing slash. */
  url: string;
  /** OAuth2 application id that tokens must be issued for. */
  appId: string;
  /** Upper-case HTTP methods, in registration order. */
  methods: string[];
  isContextBroker: boolean;
  /**
   * An adapter service (a VPN, a stream…): `url` is the endpoint address its buyers are given, any
   * URI; the proxy path does not forward to it. Absent for HTTP services.
   */
  adapter?: boolean;
  /** tmf4 mode: products of these offerings or specs are its buys (an id has one service). */
  catalog?: ServiceCatalog;
}

export interface Buy {
  apiKey: string;
  publicPath: string;
  orderId: string;
  productId: string;
  customer: string;
  unit: string;
  recordType: string;
  /** A buy of an adapter service: the credentials its buyer's client signs in with. */
  access?: ClientAccess;
  /** tmf4 mode: the purchase as the TMF v4 marketplace has it (src/marketplace/). */
  terms?: MarketplaceTerms;
}

export type BuyIdentity = Pick<Buy, 'orderId' | 'productId' | 'customer' | 'publicPath'>;

export interface BuyUsage {
  apiKey: string;
  /** Metered but not yet in a usage record. */
  pending: number;
  /** In usage records the marketplace accepted, all together. */
  reported: number;
  /** Number of the next usage record of this buy (the outbox record's, while there is one). */
  correlationNumber: number;
}

/** A usage record written down before it is sent, so a resend after any failure is identical. */
export interface OutboxRecord {
  correlationNumber: number;
  value: number;
  /** ISO 8601, never earlier than the buy's previous record. */
  date: string;
}

/** A buy with pending usage or an unsent record, active or revoked. */
export interface ReportableBuy extends Buy {
  pending: number;
  correlationNumber: number;
  outbox: OutboxRecord | undefined;
  revoked: boolean;
  reportStatus: ReportStatus | undefined;
  /** Failed counts by reason, and what the marketplace accepted: each absent while none. */
  meterFaults?: Readonly<Record<string, number>>;
  reported?: number;
}

/**
 * A key the marketplace sent with `POST urls` for reporting usage. The newest is not always
 * usable: the marketplace commits it only after the proxy answered (marketplace-contract §3.3).
 */
export interface MarketplaceKey {
  key: string;
  /** ISO 8601. */
  receivedAt: string;
  /** `accepted`: the usage API took a call with it; `refused`: it answered 401 to the last one. */
  state: 'untried' | 'accepted' | 'refused';
  /** ISO 8601: when the state was last learnt, absent while untried. */
  checkedAt?: string;
}

/** How many marketplace keys are kept, newest first. */
export const MARKETPLACE_KEYS_KEPT = 10;

export interface UsageIncrement {
  apiKey: string;
  amount: number;
  /** The quota period the amount is spent in, for a buy whose quota counts metered amounts. */
  quotaPeriod?: string;
}

/** Identifies a batch of increments: its writer (one per proxy process) and its number. */
export interface UsageBatch {
  writer: string;
  seq: number;
  window?: UsageWindow;
}

export interface AdminBinding {
  adminId: string;
  publicPath: string;
}

export interface Subscription {
  subscriptionId: string;
  apiKey: string;
  /** The buyer's own notification URL; Orion notifies the proxy instead. */
  notificationUrl: string;
  version: 'v1' | 'v2';
  /** Part of the callback URL Orion was given: only Orion knows it, so only Orion can notify. */
  secret: string;
  /** Fiware-Service and Fiware-ServicePath of the creating request ('' when absent), for cancelling. */
  fiwareService: string;
  fiwareServicePath: string;
}

/** What the proxy path keeps in memory to route and authorize without touching the store. */
export interface RoutingState {
  services: Service[];
  bindings: AdminBinding[];
  buys: Buy[];
  limits: LimitsEntry[]; // on services, and on buys in force
}

/** Services, administrators and their bindings: what routing and the CLI manage. */
export interface RoutingStore {
  /**
   * Refused with SERVICE_EXISTS unless `replace`, which updates in place and keeps buys, bindings
   * and (when the service names none) its catalog ids; CATALOG_ID_TAKEN when another service has
   * one of its catalog ids.
   */
  addService(service: Service, options?: { replace?: boolean }): Promise<void>;
  /** Replaces the service's offering and product specification ids (both lists empty: none). */
  setServiceCatalog(publicPath: string, catalog: ServiceCatalog): Promise<void>;
  getService(publicPath: string): Promise<Service | undefined>;
  listServices(): Promise<Service[]>;
  /** Removes the service and its admin bindings; refused with SERVICE_HAS_BUYS while buys exist. */
  deleteService(publicPath: string): Promise<void>;

  /** Refused with ADMIN_EXISTS for a known admin (so its bindings are never wiped). */
  addAdmin(userId: string): Promise<void>;
  /** Removes the admin and every binding of it. */
  deleteAdmin(userId: string): Promise<void>;
  listAdmins(): Promise<string[]>;
  /** Needs a known admin and service; binding twice is a no-op. */
  bindAdmin(userId: string, publicPath: string): Promise<void>;
  unbindAdmin(userId: string, publicPath: string): Promise<void>;
  /** Admin ids bound to the service, sorted. */
  getAdmins(publicPath: string): Promise<string[]>;

  /** Everything the proxy path routes by, read consistently. */
  loadRoutingState(): Promise<RoutingState>;
  /** Grows with every change to services, admins, bindings or buys, from any process. */
  routingVersion(): Promise<number>;
}

/** Buys and the usage metered on them. */
export interface BuyStore {
  /**
   * Stores a buy and returns the buy in force. A buy is identified by orderId, productId, customer
   * and publicPath: buying again returns the existing buy (its key, usage and correlation number
   * unchanged, a revoked buy active again). Changing its unit is refused with BUY_UNIT_CHANGE while
   * usage is pending. Needs the service.
   */
  addBuy(buy: Buy): Promise<Buy>;
  /** An active buy by key; a revoked buy is not found. */
  getBuy(apiKey: string): Promise<Buy | undefined>;
  findBuy(identity: BuyIdentity): Promise<Buy | undefined>;
  /** Active buys, in purchase order. */
  listBuys(filter?: { customer?: string; publicPath?: string }): Promise<Buy[]>;
  /**
   * Ends a buy: it serves no more requests at once. Without pending usage it is removed with its
   * subscriptions; with pending usage it stays (revoked) until that usage is reported.
   * BUY_NOT_FOUND for an unknown or already revoked key.
   */
  revokeBuy(apiKey: string): Promise<void>;

  /**
   * Adds every amount atomically in one batch; increments for unknown buys are ignored. A writer
   * numbering its batches 1, 2, 3… gets a batch resent after an unknown outcome applied once.
   */
  addUsage(increments: readonly UsageIncrement[], batch?: UsageBatch): Promise<void>;
  getUsage(apiKey: string): Promise<BuyUsage | undefined>;
}

/** The outbox of usage records, the usage specifications and the marketplace keys. */
export interface ReportingStore {
  /** Every buy, active or revoked, with its usage and outbox, in purchase order. */
  listUsage(): Promise<ReportableBuy[]>;
  /** Counts one exchange of the buy whose module failed to count (no-op for an unknown buy). */
  recordMeterFault(apiKey: string, reason: string): Promise<void>;
  /**
   * The buy's record to send: the one already in its outbox, else a new one holding all its pending
   * usage (taken out of pending in the same atomic step), numbered with its correlation number and
   * dated `now` (or its previous record's date, if later). Undefined when there is nothing to send.
   */
  prepareRecord(
    apiKey: string,
    now: Date,
  ): Promise<(ReportableBuy & { outbox: OutboxRecord }) | undefined>;
  /**
   * The usage API took the record: clear the outbox and advance the correlation number. A revoked
   * buy with nothing left is removed. No-op unless that record is in the outbox.
   */
  completeRecord(apiKey: string, correlationNumber: number): Promise<void>;
  /**
   * Records (or clears, with undefined) why the outbox record numbered `correlationNumber` has not
   * been accepted yet. No-op unless that record is in the outbox.
   */
  setReportStatus(
    apiKey: string,
    correlationNumber: number,
    status: ReportStatus | undefined,
  ): Promise<void>;

  setSpecificationHref(unit: string, href: string): Promise<void>;
  getSpecificationHref(unit: string): Promise<string | undefined>;
  /**
   * Keeps a key of `POST urls` as the newest, with its state if it is known already; only the
   * newest MARKETPLACE_KEYS_KEPT are kept.
   */
  addMarketplaceKey(key: string, receivedAt: Date): Promise<void>;
  /** Newest first. */
  listMarketplaceKeys(): Promise<MarketplaceKey[]>;
  /** No-op for a key no longer kept. */
  setMarketplaceKeyState(
    key: string,
    state: 'accepted' | 'refused',
    checkedAt: Date,
  ): Promise<void>;
}

/** Named locks with an expiry, shared by every process on the store. */
export interface LockStore {
  /** Takes or renews a named lock for `ttlMs`; false while another owner holds it. */
  acquireLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLock(name: string, owner: string): Promise<void>;
  /** Who holds a lock now, if anyone. */
  lockOwner(name: string): Promise<string | undefined>;
}

/** Orion subscriptions made through buys. */
export interface SubscriptionStore {
  /** Needs the buy. */
  addSubscription(subscription: Subscription): Promise<void>;
  getSubscription(subscriptionId: string): Promise<Subscription | undefined>;
  listSubscriptions(apiKey: string): Promise<Subscription[]>;
  updateSubscriptionUrl(subscriptionId: string, notificationUrl: string): Promise<void>;
  deleteSubscription(subscriptionId: string): Promise<void>;
}

export interface StoreConnection {
  readonly kind: 'sqlite' | 'redis';
  /** The library behind it, for the start line: `node:sqlite`, `better-sqlite3` or `ioredis`. */
  readonly driver: string;
  /** False while the store cannot be reached (a Redis connection being re-established). */
  isAvailable(): boolean;
  /**
   * Rejects unless the store can be reached and written right now (readiness, `store_up`): a
   * Redis that does not answer, a SQLite file another process keeps locked or cannot be written.
   */
  probe(): Promise<void>;
  /**
   * Calls `onChange` soon after another process (CLI, another proxy) changed the store: Redis
   * pub/sub, SQLite's `PRAGMA data_version`. A hint to look, not a guarantee: a missed one is
   * caught by polling. Answers the function that stops watching.
   */
  watchChanges(onChange: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export type Store = StoreConnection &
  RoutingStore &
  BuyStore &
  ReportingStore &
  LockStore &
  SubscriptionStore &
  AdapterStore &
  SettingsStore &
  WindowStore &
  LimitStore;
