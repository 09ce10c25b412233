/**
 * Configuration of accounting-proxy: typed defaults with the keys of the original config.js,
 * overridable by ACCOUNTING_PROXY_* environment variables, validated once at start.
 */

import { defaultJwtConfig, type JwtConfig, jwtVariables } from './src/config/jwt.ts';
import {
  boolean,
  cidrList,
  cidrListOrNone,
  configError,
  cron,
  type HostPort,
  headerName,
  hostPortList,
  httpUrl,
  integer,
  ipAddress,
  nonEmpty,
  oneOf,
  originList,
  type Parse,
  port,
  portOrOff,
  type RedisUrl,
  readableFile,
  redisPrefix,
  redisUrl,
  secret,
  text,
  unitList,
  urlPath,
  workerCount,
} from './src/config/parsers.ts';
import {
  defaultTmfConfig,
  type MarketplaceMode,
  marketplaceVariables,
  type TmfConfig,
  validateTmf,
} from './src/config/tmf.ts';
import { type EnvironmentVariable, variable } from './src/config/variable.ts';

export type { EnvironmentVariable } from './src/config/variable.ts';

export type DatabaseType = 'sqlite' | 'redis';
export type SqliteDriverSetting = 'auto' | 'node:sqlite' | 'better-sqlite3';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface HttpsConfig {
  enabled: boolean;
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface AdministrationPaths {
  keys: string;
  /** A buyer's own usage and limits (an admin's: of its services' buys). */
  usage: string;
  units: string;
  newBuy: string;
  checkURL: string;
  deleteBuy: string;
}

export interface Config {
  accounting_proxy: {
    port: number;
    https: HttpsConfig;
    /** Milliseconds without an answer from a backend before the request fails with 504. */
    backend_timeout: number;
    /** Milliseconds a client may take to send a request's headers (slow-loris guard). */
    headers_timeout: number;
    /** Milliseconds in-flight exchanges get to finish when the proxy stops. */
    shutdown_grace: number;
  };
  database: {
    type: DatabaseType;
    /** SQLite file (relative to the working directory), or the Redis database index. */
    name: string;
    /** The library that runs SQLite; `auto`: node:sqlite where Node has it, else better-sqlite3. */
    sqlite_driver: SqliteDriverSetting;
    redis_host: string;
    redis_port: number;
    /** Every Redis key of this proxy starts with it, so several deployments can share a server. */
    redis_prefix: string;
    /** ACCOUNTING_PROXY_REDIS_URL, applied over host, port, name, credentials and TLS. */
    redis_url: RedisUrl | undefined;
    /** Credentials and TLS of the Redis servers (data nodes, not Sentinels). */
    redis_username: string;
    redis_password: string;
    redis_tls: boolean;
    /** PEM file of the CA that signed the Redis servers' certificates ('' for the system's). */
    redis_tls_ca: string;
    /** Sentinels to ask for the primary of `redis_sentinel_name`; empty for no Sentinel. */
    redis_sentinels: HostPort[];
    redis_sentinel_name: string;
    redis_sentinel_password: string;
    /** Seed nodes of a Redis Cluster; empty for no Cluster. */
    redis_cluster: HostPort[];
    /** Replicas that must acknowledge a usage commit (WAIT) before it counts as done. */
    redis_wait_replicas: number;
  };
  modules: {
    accounting: string[];
    /** Milliseconds an asynchronous `count` may take before its fallback is recorded. */
    timeout: number;
    /** Bytes the body taps of all exchanges together may hold. */
    memory: number;
    /** Bytes of each body buffered for a module of the original proxy. */
    body_limit: number;
    /** The response header or trailer the `upstream` unit reads. */
    upstream_header: string;
  };
  /** The marketplace the services are sold on (src/config/tmf.ts). */
  marketplace: { mode: MarketplaceMode };
  /** The TM Forum v4 APIs of the `tmf4` marketplace mode. */
  tmf: TmfConfig;
  /** JWT access tokens the proxy verifies itself (src/config/jwt.ts). */
  jwt: JwtConfig;
  usageAPI: {
    url: string;
    schedule: string;
    /** First delay before retrying a failed report cycle; it doubles up to retry_max. */
    retry_initial: number;
    retry_max: number;
    /** Milliseconds to wait for an answer of the usage API. */
    timeout: number;
  };
  resources: {
    contextBroker: boolean;
    notification_port: number;
    /** Host Orion reaches the notification listener at (it usually runs on another machine). */
    notification_host: string;
    /** Address the notification listener binds. */
    notification_bind: string;
    /** CIDRs a buyer's notification URL may not point to (SSRF guard); empty to allow any. */
    notification_deny: string[];
  };
  api: {
    administration_paths: AdministrationPaths;
    /** CIDRs allowed to call urls, newBuy and deleteBuy over plain HTTP. */
    trusted_addresses: string[];
  };
  oauth2: {
    idm_url: string;
    /** Seconds a validated token is trusted without asking the IdM again. */
    token_cache_ttl: number;
    /** Milliseconds to wait for the IdM before answering 503. */
    idm_timeout: number;
    roles: { admin: string; customer: string; seller: string };
  };
  log: {
    level: LogLevel;
    /** One line per exchange at info. */
    access_log: boolean;
  };
  ops: {
    /** Port of /metrics, /healthz and /readyz; 0: off. */
    port: number;
    bind: string;
    /** Worker processes sharing the proxy port (node:cluster); 1 runs in this process. */
    workers: number;
  };
  /** The adapter API (Privatix `sess` JSON-RPC) for services that are not HTTP. */
  adapter: {
    /** 0: off. */
    port: number;
    bind: string;
    /** CIDRs adapters may connect from. */
    trusted: string[];
    /** Browser origins a WebSocket upgrade may come from (one without `Origin` is no browser). */
    origins: string[];
  };
}

export function defaultConfig(): Config {
  return {
    accounting_proxy: {
      port: 9000,
      https: { enabled: false, certFile: '', keyFile: '', caFile: '' },
      backend_timeout: 60_000,
      headers_timeout: 20_000,
      shutdown_grace: 30_000,
    },
    database: {
      type: 'sqlite',
      name: 'accountingDB.sqlite',
      sqlite_driver: 'auto',
      redis_host: 'localhost',
      redis_port: 6379,
      redis_prefix: 'accounting-proxy:',
      redis_url: undefined,
      redis_username: '',
      redis_password: '',
      redis_tls: false,
      redis_tls_ca: '',
      redis_sentinels: [],
      redis_sentinel_name: '',
      redis_sentinel_password: '',
      redis_cluster: [],
      redis_wait_replicas: 0,
    },
    modules: {
      accounting: ['call', 'megabyte', 'millisecond'],
      timeout: 50,
      memory: 64 * 1024 * 1024,
      body_limit: 1024 * 1024,
      upstream_header: 'X-Usage-Amount',
    },
    marketplace: { mode: 'bae7' },
    tmf: defaultTmfConfig(),
    jwt: defaultJwtConfig(),
    usageAPI: {
      url: 'http://localhost:8080/DSUsageManagement/api/usageManagement/v2',
      schedule: '0 0 * * *',
      retry_initial: 30_000,
      retry_max: 3_600_000,
      timeout: 10_000,
    },
    resources: {
      contextBroker: false,
      notification_port: 9002,
      notification_host: 'localhost',
      notification_bind: '0.0.0.0',
      notification_deny: [
        '127.0.0.0/8',
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '169.254.0.0/16',
        '0.0.0.0/8',
        '::1/128',
        'fc00::/7',
        'fe80::/10',
      ],
    },
    api: {
      administration_paths: {
        keys: '/accounting_proxy/keys',
        usage: '/accounting_proxy/usage',
        units: '/accounting_proxy/units',
        newBuy: '/accounting_proxy/newBuy',
        checkURL: '/accounting_proxy/urls',
        deleteBuy: '/accounting_proxy/deleteBuy',
      },
      trusted_addresses: ['127.0.0.1/32', '::1/128'],
    },
    oauth2: {
      idm_url: 'http://localhost:3000',
      token_cache_ttl: 60,
      idm_timeout: 10_000,
      roles: { admin: '106', customer: '', seller: '' },
    },
    log: { level: 'info', access_log: true },
    ops: { port: 9091, bind: '127.0.0.1', workers: 1 },
    adapter: { port: 0, bind: '127.0.0.1', trusted: ['127.0.0.1/32', '::1/128'], origins: [] },
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const roleId: Parse<string> = (raw, name) => text(raw, name).toLowerCase();

/**
 * Every environment override, one per key of Config (but `accounting_proxy.https.enabled`, which
 * follows from the certificate and key); the README's configuration table lists exactly these.
 */
export const environmentVariables: readonly EnvironmentVariable[] = [
  variable('PORT', 'accounting_proxy.port', port, 'port of the proxy and of the admin API'),
  variable(
    'BACKEND_TIMEOUT',
    'accounting_proxy.backend_timeout',
    integer(1, 3_600_000),
    'milliseconds a backend may stay silent before the request fails with 504',
  ),
  variable(
    'HEADERS_TIMEOUT',
    'accounting_proxy.headers_timeout',
    integer(100, 300_000),
    'milliseconds a client may take to send the headers of a request before the connection is closed (slow-loris guard)',
  ),
  variable(
    'SHUTDOWN_GRACE',
    'accounting_proxy.shutdown_grace',
    integer(0, 3_600_000),
    'milliseconds in-flight exchanges get to finish on SIGTERM/SIGINT',
  ),
  variable(
    'HTTPS_CERT',
    'accounting_proxy.https.certFile',
    readableFile,
    'server certificate (PEM); HTTPS is on when this and the key are set',
  ),
  variable(
    'HTTPS_KEY',
    'accounting_proxy.https.keyFile',
    readableFile,
    'private key of the server certificate (PEM)',
  ),
  variable(
    'HTTPS_CA',
    'accounting_proxy.https.caFile',
    readableFile,
    "CA (PEM) that signed the marketplace's client certificate",
  ),
  variable('DB', 'database.type', oneOf(['sqlite', 'redis'] as const), '`sqlite` or `redis`'),
  variable(
    'DB_NAME',
    'database.name',
    nonEmpty,
    'SQLite file (relative to the working directory) or Redis database index',
  ),
  variable(
    'SQLITE_DRIVER',
    'database.sqlite_driver',
    oneOf(['auto', 'node:sqlite', 'better-sqlite3'] as const),
    '`auto`, `node:sqlite` or `better-sqlite3`',
  ),
  variable('REDIS_HOST', 'database.redis_host', nonEmpty, 'Redis host'),
  variable('REDIS_PORT', 'database.redis_port', port, 'Redis port'),
  variable(
    'REDIS_PREFIX',
    'database.redis_prefix',
    redisPrefix,
    "prefix of every Redis key this proxy writes (no `{` or `}`: it is the keys' hash tag)",
  ),
  variable(
    'REDIS_URL',
    'database.redis_url',
    redisUrl,
    '`redis://[user:password@]host:port/db`, or `rediss://` for TLS; wins over host, port and database name',
  ),
  variable(
    'REDIS_USERNAME',
    'database.redis_username',
    text,
    'Redis ACL user (default: `default`)',
  ),
  variable('REDIS_PASSWORD', 'database.redis_password', secret, 'password of the Redis user'),
  variable('REDIS_TLS', 'database.redis_tls', boolean, 'TLS to Redis (`rediss://` sets it)'),
  variable(
    'REDIS_TLS_CA',
    'database.redis_tls_ca',
    readableFile,
    "CA (PEM) that signed the Redis servers' certificates, for TLS",
  ),
  variable(
    'REDIS_SENTINELS',
    'database.redis_sentinels',
    hostPortList,
    'Sentinels, `host:port,host:port,…`: the primary is the one they name',
  ),
  variable(
    'REDIS_SENTINEL_NAME',
    'database.redis_sentinel_name',
    nonEmpty,
    'master group name the Sentinels watch',
  ),
  variable(
    'REDIS_SENTINEL_PASSWORD',
    'database.redis_sentinel_password',
    secret,
    'password of the Sentinels themselves, if they have one',
  ),
  variable(
    'REDIS_CLUSTER',
    'database.redis_cluster',
    hostPortList,
    'Redis Cluster seed nodes, `host:port,…`',
  ),
  variable(
    'REDIS_WAIT_REPLICAS',
    'database.redis_wait_replicas',
    integer(0, 16),
    'replicas that must acknowledge a usage commit (`WAIT`) before the response ends',
  ),
  variable(
    'MODULES',
    'modules.accounting',
    unitList,
    'accounting units, comma-separated; each needs `acc_modules/<unit>.ts`',
  ),
  variable(
    'MODULE_TIMEOUT',
    'modules.timeout',
    integer(1, 60_000),
    "milliseconds a module's asynchronous `count` may take; past it the module's fallback amount is recorded",
  ),
  variable(
    'MODULE_BODY_LIMIT',
    'modules.body_limit',
    integer(0, 2 ** 31),
    'bytes of each body buffered for a module of the original proxy (`acc_modules/<unit>.js`); past them it is not called (fault `overflow`)',
  ),
  variable(
    'UPSTREAM_HEADER',
    'modules.upstream_header',
    headerName,
    'the response header, or HTTP trailer, in which a backend reports the amount the `upstream` unit bills (removed from what the client gets)',
  ),
  variable(
    'MODULE_MEMORY',
    'modules.memory',
    integer(0, 2 ** 40),
    'bytes the body taps of all exchanges together may hold; a tap that finds none left is not attached',
  ),
  ...marketplaceVariables,
  variable(
    'IDM_URL',
    'oauth2.idm_url',
    httpUrl,
    'base URL of the Keyrock IdM that validates tokens',
  ),
  variable(
    'TOKEN_CACHE_TTL',
    'oauth2.token_cache_ttl',
    integer(0, 86_400),
    'seconds a validated token is trusted before asking the IdM again (0: no cache)',
  ),
  variable(
    'IDM_TIMEOUT',
    'oauth2.idm_timeout',
    integer(1, 600_000),
    'milliseconds to wait for the IdM before answering 503',
  ),
  ...jwtVariables,
  variable('ROLE_ADMIN', 'oauth2.roles.admin', roleId, 'IdM role id of administrators (X-Roles)'),
  variable('ROLE_SELLER', 'oauth2.roles.seller', roleId, 'IdM role id of sellers (X-Roles)'),
  variable('ROLE_CUSTOMER', 'oauth2.roles.customer', roleId, 'IdM role id of customers (X-Roles)'),
  variable(
    'USAGE_API_URL',
    'usageAPI.url',
    httpUrl,
    "base URL of the marketplace's TMF635 usage API",
  ),
  variable(
    'USAGE_SCHEDULE',
    'usageAPI.schedule',
    cron,
    'cron expression (5 or 6 fields) of the usage reports',
  ),
  variable(
    'USAGE_RETRY',
    'usageAPI.retry_initial',
    integer(1, 86_400_000),
    'milliseconds before retrying a failed report cycle (doubling each time)',
  ),
  variable(
    'USAGE_RETRY_MAX',
    'usageAPI.retry_max',
    integer(1, 86_400_000),
    'longest delay between retries of a failed report cycle, in milliseconds',
  ),
  variable(
    'USAGE_TIMEOUT',
    'usageAPI.timeout',
    integer(1, 600_000),
    'milliseconds to wait for an answer of the usage API',
  ),
  variable(
    'CONTEXT_BROKER',
    'resources.contextBroker',
    boolean,
    'enable Orion Context Broker support',
  ),
  variable(
    'NOTIFICATION_PORT',
    'resources.notification_port',
    port,
    'port of the Orion notification listener',
  ),
  variable(
    'NOTIFICATION_HOST',
    'resources.notification_host',
    nonEmpty,
    'host name or address Orion sends notifications to (this proxy, as Orion sees it)',
  ),
  variable(
    'NOTIFICATION_BIND',
    'resources.notification_bind',
    ipAddress,
    'address the notification listener binds',
  ),
  variable(
    'NOTIFICATION_DENY',
    'resources.notification_deny',
    cidrListOrNone,
    "CIDRs buyers' notification URLs may not point to (default: loopback and private ranges); `none` allows any",
  ),
  variable(
    'TRUSTED_ADDRESSES',
    'api.trusted_addresses',
    cidrList,
    'CIDRs that may call urls, newBuy and deleteBuy over plain HTTP',
  ),
  variable('PATH_KEYS', 'api.administration_paths.keys', urlPath, 'path of the admin API `keys`'),
  variable(
    'PATH_USAGE',
    'api.administration_paths.usage',
    urlPath,
    "path of a buyer's own usage and limits",
  ),
  variable(
    'PATH_UNITS',
    'api.administration_paths.units',
    urlPath,
    'path of the admin API `units`',
  ),
  variable(
    'PATH_NEW_BUY',
    'api.administration_paths.newBuy',
    urlPath,
    'path of the admin API `newBuy`',
  ),
  variable(
    'PATH_CHECK_URL',
    'api.administration_paths.checkURL',
    urlPath,
    'path of the admin API `urls`',
  ),
  variable(
    'PATH_DELETE_BUY',
    'api.administration_paths.deleteBuy',
    urlPath,
    'path of the admin API `deleteBuy`',
  ),
  variable('LOG_LEVEL', 'log.level', oneOf(LOG_LEVELS), LOG_LEVELS.join(', ')),
  variable(
    'ACCESS_LOG',
    'log.access_log',
    boolean,
    'one log line per exchange (request id, service, status, bytes, duration, user, usage)',
  ),
  variable(
    'OPS_PORT',
    'ops.port',
    portOrOff,
    'port of `/metrics`, `/healthz` and `/readyz` (0: off)',
  ),
  variable('OPS_BIND', 'ops.bind', ipAddress, 'address the ops listener binds'),
  variable(
    'WORKERS',
    'ops.workers',
    workerCount,
    'worker processes sharing the proxy port; `auto`: one per available core',
  ),
  variable(
    'ADAPTER_PORT',
    'adapter.port',
    portOrOff,
    'port of the adapter API (`/ws` and `/http`, JSON-RPC) for services that are not HTTP (0: off)',
  ),
  variable('ADAPTER_BIND', 'adapter.bind', ipAddress, 'address the adapter API binds'),
  variable(
    'ADAPTER_TRUSTED',
    'adapter.trusted',
    cidrList,
    'CIDRs adapters may connect from (comma-separated)',
  ),
  variable(
    'ADAPTER_ORIGINS',
    'adapter.origins',
    originList,
    'browser origins a WebSocket to the adapter API may come from (comma-separated; none by default)',
  ),
];

/** Sets the key a dotted path names. */
function setKey(config: Config, key: string, value: unknown): void {
  const path = key.split('.');
  const last = path.pop() as string;
  let target = config as unknown as Record<string, unknown>;
  for (const part of path) target = target[part] as Record<string, unknown>;
  target[last] = value;
}

/** The URL's parts win over the separate settings. */
function applyRedisUrl(database: Config['database']): void {
  const url = database.redis_url;
  if (!url) return;
  database.redis_host = url.host;
  database.redis_port = url.port;
  if (url.db !== undefined) database.name = String(url.db);
  if (url.username !== '') database.redis_username = url.username;
  if (url.password !== '') database.redis_password = url.password;
  if (url.tls) database.redis_tls = true;
}

/** Checks that hold between keys, whatever set them. */
function validate(config: Config): Config {
  const https = config.accounting_proxy.https;
  if (Boolean(https.certFile) !== Boolean(https.keyFile)) {
    throw configError(
      'ACCOUNTING_PROXY_HTTPS_CERT and ACCOUNTING_PROXY_HTTPS_KEY must be set together',
    );
  }
  https.enabled = Boolean(https.certFile && https.keyFile);
  validateTmf(config.marketplace.mode, config.tmf);
  const unknownUnit = config.tmf.units.find(
    ({ unit }) => !config.modules.accounting.includes(unit),
  );
  if (config.marketplace.mode === 'tmf4' && unknownUnit) {
    throw configError(
      `ACCOUNTING_PROXY_TMF_UNITS names the unit "${unknownUnit.unit}", which ACCOUNTING_PROXY_MODULES does not load`,
    );
  }
  if (config.database.type === 'redis') {
    // The SQLite file name is the default; on Redis it means database 0.
    if (config.database.name === defaultConfig().database.name) config.database.name = '0';
    integer(0, 65535)(config.database.name, 'ACCOUNTING_PROXY_DB_NAME (Redis database index)');
    applyRedisUrl(config.database);
    const { redis_sentinels, redis_sentinel_name, redis_cluster } = config.database;
    if (redis_sentinels.length > 0 && redis_cluster.length > 0) {
      throw configError(
        'ACCOUNTING_PROXY_REDIS_SENTINELS and ACCOUNTING_PROXY_REDIS_CLUSTER cannot both be set',
      );
    }
    if (redis_sentinels.length > 0 && redis_sentinel_name === '') {
      throw configError(
        'ACCOUNTING_PROXY_REDIS_SENTINEL_NAME must name the master group the Sentinels watch',
      );
    }
    if (redis_cluster.length > 0 && config.database.name !== '0') {
      throw configError('ACCOUNTING_PROXY_DB_NAME must be 0 on a Redis Cluster (it has no other)');
    }
  }
  return config;
}

/** The configuration in force: defaults, then environment overrides. Throws CONFIG_INVALID. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaultConfig();
  for (const { name, key, parse } of environmentVariables) {
    const raw = env[name];
    if (raw !== undefined) setKey(config, key, parse(raw, name));
  }
  return validate(config);
}
