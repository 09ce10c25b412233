import type { SqliteDatabase } from './driver.ts';

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run, so a newer
 * proxy upgrades an older file in place and never re-runs a step.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE services (
    public_path TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    app_id TEXT NOT NULL,
    methods TEXT NOT NULL,
    is_context_broker INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE admins (
    id TEXT PRIMARY KEY
  );
  CREATE TABLE admin_bindings (
    admin_id TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    public_path TEXT NOT NULL REFERENCES services(public_path) ON DELETE CASCADE,
    PRIMARY KEY (admin_id, public_path)
  );
  CREATE TABLE buys (
    api_key TEXT PRIMARY KEY,
    public_path TEXT NOT NULL REFERENCES services(public_path) ON DELETE RESTRICT,
    order_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    customer TEXT NOT NULL,
    unit TEXT NOT NULL,
    record_type TEXT NOT NULL,
    pending REAL NOT NULL DEFAULT 0,
    correlation_number INTEGER NOT NULL DEFAULT 0,
    -- The usage record being sent (NULL when none): resent identically until the usage API takes it.
    outbox_value REAL,
    outbox_date TEXT,
    last_record_date TEXT,
    -- A revoked buy serves no request; it stays until its pending usage has been reported.
    revoked INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    UNIQUE (order_id, product_id, customer, public_path)
  );
  CREATE INDEX buys_by_customer ON buys(customer);
  CREATE INDEX buys_by_service ON buys(public_path);
  CREATE TABLE specifications (
    unit TEXT PRIMARY KEY,
    href TEXT NOT NULL
  );
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE subscriptions (
    subscription_id TEXT PRIMARY KEY,
    api_key TEXT NOT NULL REFERENCES buys(api_key) ON DELETE CASCADE,
    notification_url TEXT NOT NULL,
    version TEXT NOT NULL CHECK (version IN ('v1', 'v2')),
    secret TEXT NOT NULL,
    fiware_service TEXT NOT NULL DEFAULT '',
    fiware_service_path TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX subscriptions_by_buy ON subscriptions(api_key);
  CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE usage_writers (
    writer TEXT PRIMARY KEY,
    last_batch INTEGER NOT NULL
  );
  CREATE TABLE routing_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  );
  INSERT INTO routing_version (id, version) VALUES (1, 0);
  `,
  // Several marketplace keys, because the newest may never be committed; why a record is stuck.
  `
  CREATE TABLE marketplace_keys (
    key TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('untried', 'accepted', 'refused')),
    checked_at TEXT,
    seq INTEGER NOT NULL
  );
  INSERT INTO marketplace_keys (key, received_at, state, seq)
    SELECT value, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'untried', 1
    FROM settings WHERE key = 'marketplace_token';
  DELETE FROM settings WHERE key = 'marketplace_token';
  -- JSON of a ReportStatus, NULL while reporting is fine.
  ALTER TABLE buys ADD COLUMN report_status TEXT;
  `,
  // Adapter services (the sess API): products, client credentials and the session of each buy.
  `
  ALTER TABLE services ADD COLUMN adapter INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE buys ADD COLUMN client_key TEXT;
  ALTER TABLE buys ADD COLUMN client_password TEXT;
  ALTER TABLE buys ADD COLUMN client_ready INTEGER NOT NULL DEFAULT 0;
  -- The current (or last) session: the total the adapter reported last, and up to when its time
  -- is metered (epoch ms). NULL: no session yet.
  ALTER TABLE buys ADD COLUMN session_total INTEGER;
  ALTER TABLE buys ADD COLUMN session_counted_at INTEGER;
  ALTER TABLE buys ADD COLUMN session_open INTEGER NOT NULL DEFAULT 0;
  CREATE UNIQUE INDEX buys_by_client_key ON buys(client_key) WHERE client_key IS NOT NULL;
  CREATE TABLE products (
    product_id TEXT PRIMARY KEY,
    public_path TEXT NOT NULL UNIQUE REFERENCES services(public_path) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    endpoint_address TEXT
  );
  -- Client keys of adapter buys that ended and were removed: their adapter is told the channel is
  -- no longer active (dapp-openvpn stops its client on that, and exits on any other error).
  CREATE TABLE ended_clients (
    client_key TEXT PRIMARY KEY,
    public_path TEXT NOT NULL REFERENCES services(public_path) ON DELETE CASCADE
  );
  CREATE TRIGGER buys_ended_client AFTER DELETE ON buys WHEN old.client_key IS NOT NULL
  BEGIN
    INSERT OR REPLACE INTO ended_clients (client_key, public_path)
      VALUES (old.client_key, old.public_path);
  END;
  `,
  // The TMF v4 marketplace: the offerings and product specifications whose products are a
  // service's buys. An id belongs to one service at most (the primary key).
  `
  CREATE TABLE service_catalog (
    kind TEXT NOT NULL CHECK (kind IN ('offering', 'product specification')),
    id TEXT NOT NULL,
    public_path TEXT NOT NULL REFERENCES services(public_path) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX service_catalog_by_service ON service_catalog(public_path);
  -- JSON of the buy's MarketplaceTerms (NULL: a purchase of the admin API).
  ALTER TABLE buys ADD COLUMN terms TEXT;
  -- Usage of such a buy per window (also counted in its pending), until taken into its outbox.
  CREATE TABLE usage_windows (
    api_key TEXT NOT NULL REFERENCES buys(api_key) ON DELETE CASCADE,
    window_start INTEGER NOT NULL,
    amount REAL NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (api_key, window_start)
  );
  ALTER TABLE buys ADD COLUMN outbox_window INTEGER;
  -- The latest window taken into a record: later usage of it or before goes to the next one.
  ALTER TABLE buys ADD COLUMN last_window INTEGER;
  `,
  // Exchanges whose accounting module failed to count, per reason: JSON {reason: count}.
  `
  ALTER TABLE buys ADD COLUMN meter_faults TEXT;
  `,
  // Limits: JSON Limits per service ('' for the service) or per buy; each buy's counters; and
  // what the marketplace accepted of each buy, for its buyer's view of its usage.
  `
  ALTER TABLE buys ADD COLUMN reported REAL NOT NULL DEFAULT 0;
  CREATE TABLE limits (
    public_path TEXT NOT NULL REFERENCES services(public_path) ON DELETE CASCADE,
    api_key TEXT NOT NULL DEFAULT '',
    limits TEXT NOT NULL,
    PRIMARY KEY (public_path, api_key)
  );
  CREATE TABLE limit_counters (
    api_key TEXT PRIMARY KEY REFERENCES buys(api_key) ON DELETE CASCADE,
    rate_window INTEGER,
    rate_count INTEGER NOT NULL DEFAULT 0,
    quota_period TEXT,
    quota_spent REAL NOT NULL DEFAULT 0
  );
  CREATE TRIGGER buys_limits_removed AFTER DELETE ON buys BEGIN
    DELETE FROM limits WHERE api_key = old.api_key;
  END;
  `,
];

/** How many migrations the file has had. */
export function schemaVersion(db: SqliteDatabase): number {
  return db.prepareValue<[], number>('PRAGMA user_version').get() ?? 0;
}

export function migrate(db: SqliteDatabase): void {
  const applied = schemaVersion(db);
  if (applied > migrations.length) {
    throw new Error(
      `database schema version ${applied} is newer than this accounting-proxy (${migrations.length})`,
    );
  }
  for (let version = applied; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version] ?? '');
      db.exec(`PRAGMA user_version = ${version + 1}`);
    }).immediate();
  }
}
