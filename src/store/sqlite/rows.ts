/** Rows of the SQLite schema and the objects of store.ts they stand for. */
import type {
  Buy,
  MarketplaceKey,
  OutboxRecord,
  ReportableBuy,
  Service,
  ServiceCatalog,
  Subscription,
} from '../store.ts';

export interface ServiceRow {
  public_path: string;
  url: string;
  app_id: string;
  methods: string;
  is_context_broker: number;
  adapter: number;
}

export interface BuyRow {
  api_key: string;
  public_path: string;
  order_id: string;
  product_id: string;
  customer: string;
  unit: string;
  record_type: string;
  client_key: string | null;
  client_password: string | null;
  terms: string | null;
}

export interface UsageRow extends BuyRow {
  pending: number;
  correlation_number: number;
  outbox_value: number | null;
  outbox_date: string | null;
  meter_faults: string | null;
  reported: number;
  last_record_date: string | null;
  revoked: number;
  report_status: string | null;
}

export interface MarketplaceKeyRow {
  key: string;
  received_at: string;
  state: MarketplaceKey['state'];
  checked_at: string | null;
}

export interface SubscriptionRow {
  subscription_id: string;
  api_key: string;
  notification_url: string;
  version: 'v1' | 'v2';
  secret: string;
  fiware_service: string;
  fiware_service_path: string;
}

/**
 * Removes a revoked buy once nothing of it is left to report and no adapter session of it is open
 * (the trigger buys_ended_client keeps an adapter buy's client key as ended).
 */
export const DELETE_SPENT_REVOKED = `DELETE FROM buys WHERE api_key = ? AND revoked = 1 AND pending = 0
  AND outbox_value IS NULL AND session_open = 0`;

export const BUY_COLUMNS =
  'api_key, public_path, order_id, product_id, customer, unit, record_type, client_key, client_password, terms';

export interface CatalogRow {
  kind: 'offering' | 'product specification';
  id: string;
  public_path: string;
}

/** Each service's catalog ids, from the rows of service_catalog in their order. */
export function catalogsOf(rows: readonly CatalogRow[]): Map<string, ServiceCatalog> {
  const catalogs = new Map<string, ServiceCatalog>();
  for (const row of rows) {
    let catalog = catalogs.get(row.public_path);
    if (!catalog) {
      catalog = { offerings: [], productSpecs: [] };
      catalogs.set(row.public_path, catalog);
    }
    (row.kind === 'offering' ? catalog.offerings : catalog.productSpecs).push(row.id);
  }
  return catalogs;
}

export const toService = (row: ServiceRow, catalog?: ServiceCatalog): Service => ({
  publicPath: row.public_path,
  url: row.url,
  appId: row.app_id,
  methods: row.methods === '' ? [] : row.methods.split(','),
  isContextBroker: row.is_context_broker === 1,
  ...(row.adapter === 1 ? { adapter: true } : {}),
  ...(catalog ? { catalog } : {}),
});

export const toBuy = (row: BuyRow): Buy => ({
  apiKey: row.api_key,
  publicPath: row.public_path,
  orderId: row.order_id,
  productId: row.product_id,
  customer: row.customer,
  unit: row.unit,
  recordType: row.record_type,
  ...(row.client_key === null
    ? {}
    : { access: { clientKey: row.client_key, clientPassword: row.client_password ?? '' } }),
  ...(row.terms === null ? {} : { terms: JSON.parse(row.terms) }),
});

export const toReportable = (row: UsageRow): ReportableBuy => ({
  ...toBuy(row),
  pending: row.pending,
  correlationNumber: row.correlation_number,
  outbox:
    row.outbox_value === null
      ? undefined
      : {
          correlationNumber: row.correlation_number,
          value: row.outbox_value,
          date: row.outbox_date ?? '',
        },
  revoked: row.revoked === 1,
  reportStatus: row.report_status === null ? undefined : JSON.parse(row.report_status),
  ...(row.meter_faults === null ? {} : { meterFaults: JSON.parse(row.meter_faults) }),
  ...(row.reported > 0 ? { reported: row.reported } : {}),
});

export const withOutbox = (row: UsageRow) => {
  const buy = toReportable(row);
  return buy.outbox ? { ...buy, outbox: buy.outbox as OutboxRecord } : undefined;
};

export const toMarketplaceKey = (row: MarketplaceKeyRow): MarketplaceKey => ({
  key: row.key,
  receivedAt: row.received_at,
  state: row.state,
  ...(row.checked_at === null ? {} : { checkedAt: row.checked_at }),
});

export const toSubscription = (row: SubscriptionRow): Subscription => ({
  subscriptionId: row.subscription_id,
  apiKey: row.api_key,
  notificationUrl: row.notification_url,
  version: row.version,
  secret: row.secret,
  fiwareService: row.fiware_service,
  fiwareServicePath: row.fiware_service_path,
});
