/**
 * What the store keeps for the adapter API (services that are not HTTP, metered through Privatix's
 * `sess` methods): a product per adapter service, client credentials and the current session per
 * buy. Part of the Store (store.ts); both implementations keep a session's total and the usage it
 * meters in one atomic step.
 */

/** A buy's credentials for an adapter service: the client key names the buy, the password proves it. */
export interface ClientAccess {
  clientKey: string;
  clientPassword: string;
}

/** The credentials and configuration an adapter uses for one adapter service. */
export interface Product {
  /** A UUID: what the adapter sends as `product`. */
  productId: string;
  publicPath: string;
  /** What secrets.ts's hashPassword made of the product password: never the password. */
  passwordHash: string;
  /** Given with `addProduct --config` or by the adapter's setProductConfig (`externalIP` taken out). */
  config: Record<string, string>;
  /** The `externalIP` of the config, when it replaces a loopback endpoint address. */
  endpointAddress?: string;
}

/** A session as the store keeps it, per buy: the adapter reports totals, the store keeps the last. */
export interface AdapterSession {
  /** The session's total units (bytes) as last reported. */
  total: number;
  /** Epoch milliseconds up to which the session's time is metered. */
  countedAt: number;
  open: boolean;
}

export interface AdapterClient {
  apiKey: string;
  publicPath: string;
  unit: string;
  access: ClientAccess;
  /** The marketplace deleted the buy; it stays until its last usage is reported. */
  revoked: boolean;
  /** The adapter said the service is ready for this client (serviceReady or a started session). */
  ready: boolean;
  session: AdapterSession | undefined;
}

export type SessionEvent =
  | { kind: 'start' }
  /** The session's total units so far. */
  | { kind: 'update'; units: number }
  | { kind: 'stop' };

export interface SessionOutcome {
  /**
   * `recorded`: the event is stored with its usage; `revoked`: the buy was deleted (an update's
   * usage is recorded first, and the session ends); `no-session`: an update without an open
   * session; `not-found`: no buy has this client key.
   */
  result: 'recorded' | 'revoked' | 'no-session' | 'not-found' | 'over-quota';
  /** The usage the event added to the buy's pending usage. */
  amount: number;
  /** With a quota: it is spent once this event's usage is counted. */
  overQuota?: boolean;
}

/** The quota a session's usage is spent in: the current period's key and the quota's amount. */
export interface SessionQuota {
  period: string;
  amount: number;
}

/** The adapter API's part of the store. */
export interface AdapterStore {
  /**
   * Stores the product of an adapter service: SERVICE_NOT_FOUND, SERVICE_NOT_ADAPTER, and
   * PRODUCT_EXISTS for a service that has one already unless `replace` (new credentials, the
   * configuration kept).
   */
  setProduct(product: Product, options?: { replace?: boolean }): Promise<void>;
  getProduct(productId: string): Promise<Product | undefined>;
  findProduct(publicPath: string): Promise<Product | undefined>;
  /** PRODUCT_NOT_FOUND for an unknown product. */
  setProductConfig(
    productId: string,
    config: Record<string, string>,
    endpointAddress: string | undefined,
  ): Promise<void>;
  /** The buy with this client key, revoked or not. */
  getClient(clientKey: string): Promise<AdapterClient | undefined>;
  /** The service of a client key whose buy ended and was removed. */
  endedClient(clientKey: string): Promise<string | undefined>;
  /** No-op for an unknown or revoked client key. */
  setClientReady(clientKey: string): Promise<void>;
  /**
   * Applies a session event and the usage it meters (by the session rates of the buy's unit,
   * given when the store was opened: per started session, per unit added since the last update,
   * per millisecond since the session was last metered) in one atomic step: an update repeating
   * the last total adds nothing, a total below it starts a new count. With a quota, the usage is
   * spent in its period in the same step, a start is refused (`over-quota`) once it is spent, and
   * the event that spends it changes the routing version (so every proxy tells its adapters).
   */
  recordSession(
    clientKey: string,
    event: SessionEvent,
    nowMs: number,
    quota?: SessionQuota,
  ): Promise<SessionOutcome>;
}

/**
 * How a unit meters an adapter session (declared by its accounting module): an amount per started
 * session, per unit (byte) an update adds, per millisecond the session was open.
 */
export interface SessionRates {
  perStart: number;
  perByte: number;
  perMs: number;
}

/** The session rates of every unit an adapter service can be sold by. */
export type SessionRateTable = Readonly<Record<string, SessionRates>>;

const NO_RATES: SessionRates = { perStart: 0, perByte: 0, perMs: 0 };

/**
 * The new session state and the usage of one event: the one rule both stores apply (SQLite in
 * its transaction; Redis in Lua, sessionLua mirrors it).
 */
export function applySessionEvent(
  rates: SessionRates | undefined,
  session: AdapterSession | undefined,
  event: SessionEvent,
  nowMs: number,
): { session: AdapterSession | undefined; amount: number } {
  const { perStart, perByte, perMs } = rates ?? NO_RATES;
  const openTime = session?.open ? Math.max(0, nowMs - session.countedAt) : 0;
  const timeAmount = openTime * perMs;
  switch (event.kind) {
    case 'start':
      // A session left open (no stopSession) ends here, its time metered.
      return {
        session: { total: 0, countedAt: nowMs, open: true },
        amount: timeAmount + perStart,
      };
    case 'stop':
      return session?.open
        ? { session: { ...session, countedAt: nowMs, open: false }, amount: timeAmount }
        : { session, amount: 0 };
    case 'update': {
      if (!session?.open || event.units === session.total) return { session, amount: 0 };
      const added = event.units > session.total ? event.units - session.total : event.units;
      const amount = added * perByte + timeAmount;
      return { session: { total: event.units, countedAt: nowMs, open: true }, amount };
    }
  }
}
