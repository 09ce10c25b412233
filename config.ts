/**
 * Configuration of accounting-proxy: typed defaults with the keys of the original config.js,
 * overridable by ACCOUNTING_PROXY_* environment variables, validated once at start.
 */
import { existsSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { validate as isValidCron } from 'node-cron';
import { proxyError } from './src/errors.ts';

export type DatabaseType = 'sqlite' | 'redis';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface HttpsConfig {
  enabled: boolean;
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface AdministrationPaths {
  keys: string;
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
    redis_host: string;
    redis_port: number;
    /** Every Redis key of this proxy starts with it, so several deployments can share a server. */
    redis_prefix: string;
  };
  modules: { accounting: string[] };
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
  log: { level: LogLevel };
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
      redis_host: 'localhost',
      redis_port: 6379,
      redis_prefix: 'accounting-proxy:',
    },
    modules: { accounting: ['call', 'megabyte', 'millisecond'] },
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
    log: { level: 'info' },
  };
}

/** A configuration the program cannot run with; its message is the one line shown to the user. */
export const configError = (problem: string) => proxyError('CONFIG_INVALID', problem);

type Parse<T> = (raw: string, name: string) => T;

const fail = (name: string, expected: string, raw: string): never => {
  throw configError(`${name} must be ${expected}, got "${raw}"`);
};

const integer =
  (min: number, max: number): Parse<number> =>
  (raw, name) => {
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || value < min || value > max) {
      fail(name, `an integer ${min}-${max}`, raw);
    }
    return value;
  };

const port = integer(1, 65535);

const boolean: Parse<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return fail(name, 'true or false', raw);
};

const oneOf =
  <T extends string>(choices: readonly T[]): Parse<T> =>
  (raw, name) => {
    const value = raw.trim() as T;
    return choices.includes(value) ? value : fail(name, `one of ${choices.join(', ')}`, raw);
  };

const nonEmpty: Parse<string> = (raw, name) =>
  raw.trim() === '' ? fail(name, 'a non-empty string', raw) : raw.trim();

const httpUrl: Parse<string> = (raw, name) => {
  try {
    const url = new URL(raw.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:')
      return raw.trim().replace(/\/+$/, '');
  } catch {
    // reported below
  }
  return fail(name, 'an http(s) URL', raw);
};

const UNIT_NAME = /^[A-Za-z][\w-]*$/;

const unitList: Parse<string[]> = (raw, name) => {
  const units = raw
    .split(',')
    .map((unit) => unit.trim())
    .filter((unit) => unit !== '');
  if (units.length === 0 || !units.every((unit) => UNIT_NAME.test(unit))) {
    fail(name, 'a comma-separated list of unit names (letters, digits, _ and -)', raw);
  }
  return [...new Set(units)];
};

const cron: Parse<string> = (raw, name) => {
  const fields = raw.trim().split(/\s+/);
  if ((fields.length !== 5 && fields.length !== 6) || !isValidCron(raw.trim())) {
    fail(name, 'a cron expression with 5 or 6 fields', raw);
  }
  return raw.trim();
};

/** A CIDR list, checked by building the BlockList the admin API will use. */
const cidrList: Parse<string[]> = (raw, name) => {
  const cidrs = raw
    .split(',')
    .map((cidr) => cidr.trim())
    .filter((cidr) => cidr !== '');
  try {
    toBlockList(cidrs);
  } catch {
    return fail(name, 'a comma-separated list of CIDRs such as 10.0.0.0/8,::1/128', raw);
  }
  return cidrs;
};

/** The addresses of a CIDR list (`10.0.0.0/8`, `::1/128`; a bare address means just itself). */
export function toBlockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!family) throw new Error(`not an IP address: ${address}`);
    const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix);
    if (!/^\d+$/.test(prefix ?? '0') || bits > (family === 'ipv4' ? 32 : 128)) {
      throw new Error(`bad prefix length: ${cidr}`);
    }
    list.addSubnet(address, bits, family);
  }
  return list;
}

const readableFile: Parse<string> = (raw, name) =>
  existsSync(raw) ? raw : fail(name, 'the path of a readable file', raw);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface EnvironmentVariable {
  name: string;
  key: string;
  description: string;
  apply: (config: Config, raw: string, name: string) => void;
}

/** Every environment override; the README's configuration table lists exactly these. */
export const environmentVariables: readonly EnvironmentVariable[] = [
  {
    name: 'ACCOUNTING_PROXY_PORT',
    key: 'accounting_proxy.port',
    description: 'port of the proxy and of the admin API',
    apply: (c, raw, name) => {
      c.accounting_proxy.port = port(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_BACKEND_TIMEOUT',
    key: 'accounting_proxy.backend_timeout',
    description: 'milliseconds a backend may stay silent before the request fails with 504',
    apply: (c, raw, name) => {
      c.accounting_proxy.backend_timeout = integer(1, 3_600_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_HEADERS_TIMEOUT',
    key: 'accounting_proxy.headers_timeout',
    description:
      'milliseconds a client may take to send the headers of a request before the connection is closed (slow-loris guard)',
    apply: (c, raw, name) => {
      c.accounting_proxy.headers_timeout = integer(100, 300_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_SHUTDOWN_GRACE',
    key: 'accounting_proxy.shutdown_grace',
    description: 'milliseconds in-flight exchanges get to finish on SIGTERM/SIGINT',
    apply: (c, raw, name) => {
      c.accounting_proxy.shutdown_grace = integer(0, 3_600_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_HTTPS_CERT',
    key: 'accounting_proxy.https.certFile',
    description: 'server certificate (PEM); HTTPS is on when this and the key are set',
    apply: (c, raw, name) => {
      c.accounting_proxy.https.certFile = readableFile(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_HTTPS_KEY',
    key: 'accounting_proxy.https.keyFile',
    description: 'private key of the server certificate (PEM)',
    apply: (c, raw, name) => {
      c.accounting_proxy.https.keyFile = readableFile(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_HTTPS_CA',
    key: 'accounting_proxy.https.caFile',
    description: "CA (PEM) that signed the marketplace's client certificate",
    apply: (c, raw, name) => {
      c.accounting_proxy.https.caFile = readableFile(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_DB',
    key: 'database.type',
    description: '`sqlite` or `redis`',
    apply: (c, raw, name) => {
      c.database.type = oneOf(['sqlite', 'redis'] as const)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_DB_NAME',
    key: 'database.name',
    description: 'SQLite file (relative to the working directory) or Redis database index',
    apply: (c, raw, name) => {
      c.database.name = nonEmpty(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_REDIS_HOST',
    key: 'database.redis_host',
    description: 'Redis host',
    apply: (c, raw, name) => {
      c.database.redis_host = nonEmpty(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_REDIS_PORT',
    key: 'database.redis_port',
    description: 'Redis port',
    apply: (c, raw, name) => {
      c.database.redis_port = port(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_REDIS_PREFIX',
    key: 'database.redis_prefix',
    description: 'prefix of every Redis key this proxy writes',
    apply: (c, raw, name) => {
      c.database.redis_prefix = nonEmpty(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_MODULES',
    key: 'modules.accounting',
    description: 'accounting units, comma-separated; each needs `acc_modules/<unit>.ts`',
    apply: (c, raw, name) => {
      c.modules.accounting = unitList(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_IDM_URL',
    key: 'oauth2.idm_url',
    description: 'base URL of the Keyrock IdM that validates tokens',
    apply: (c, raw, name) => {
      c.oauth2.idm_url = httpUrl(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_TOKEN_CACHE_TTL',
    key: 'oauth2.token_cache_ttl',
    description: 'seconds a validated token is trusted before asking the IdM again (0: no cache)',
    apply: (c, raw, name) => {
      c.oauth2.token_cache_ttl = integer(0, 86_400)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_IDM_TIMEOUT',
    key: 'oauth2.idm_timeout',
    description: 'milliseconds to wait for the IdM before answering 503',
    apply: (c, raw, name) => {
      c.oauth2.idm_timeout = integer(1, 600_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_USAGE_API_URL',
    key: 'usageAPI.url',
    description: "base URL of the marketplace's TMF635 usage API",
    apply: (c, raw, name) => {
      c.usageAPI.url = httpUrl(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_USAGE_SCHEDULE',
    key: 'usageAPI.schedule',
    description: 'cron expression (5 or 6 fields) of the usage reports',
    apply: (c, raw, name) => {
      c.usageAPI.schedule = cron(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_USAGE_RETRY',
    key: 'usageAPI.retry_initial',
    description: 'milliseconds before retrying a failed report cycle (doubling each time)',
    apply: (c, raw, name) => {
      c.usageAPI.retry_initial = integer(1, 86_400_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_USAGE_RETRY_MAX',
    key: 'usageAPI.retry_max',
    description: 'longest delay between retries of a failed report cycle, in milliseconds',
    apply: (c, raw, name) => {
      c.usageAPI.retry_max = integer(1, 86_400_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_USAGE_TIMEOUT',
    key: 'usageAPI.timeout',
    description: 'milliseconds to wait for an answer of the usage API',
    apply: (c, raw, name) => {
      c.usageAPI.timeout = integer(1, 600_000)(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_CONTEXT_BROKER',
    key: 'resources.contextBroker',
    description: 'enable Orion Context Broker support',
    apply: (c, raw, name) => {
      c.resources.contextBroker = boolean(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_NOTIFICATION_PORT',
    key: 'resources.notification_port',
    description: 'port of the Orion notification listener',
    apply: (c, raw, name) => {
      c.resources.notification_port = port(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_TRUSTED_ADDRESSES',
    key: 'api.trusted_addresses',
    description: 'CIDRs that may call urls, newBuy and deleteBuy over plain HTTP',
    apply: (c, raw, name) => {
      c.api.trusted_addresses = cidrList(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_NOTIFICATION_HOST',
    key: 'resources.notification_host',
    description: 'host name or address Orion sends notifications to (this proxy, as Orion sees it)',
    apply: (c, raw, name) => {
      c.resources.notification_host = nonEmpty(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_NOTIFICATION_BIND',
    key: 'resources.notification_bind',
    description: 'address the notification listener binds',
    apply: (c, raw, name) => {
      const address = nonEmpty(raw, name);
      if (!isIPv4(address) && !isIPv6(address)) fail(name, 'an IP address', raw);
      c.resources.notification_bind = address;
    },
  },
  {
    name: 'ACCOUNTING_PROXY_NOTIFICATION_DENY',
    key: 'resources.notification_deny',
    description:
      "CIDRs buyers' notification URLs may not point to (default: loopback and private ranges); `none` allows any",
    apply: (c, raw, name) => {
      c.resources.notification_deny = raw.trim() === 'none' ? [] : cidrList(raw, name);
    },
  },
  {
    name: 'ACCOUNTING_PROXY_LOG_LEVEL',
    key: 'log.level',
    description: LOG_LEVELS.join(', '),
    apply: (c, raw, name) => {
      c.log.level = oneOf(LOG_LEVELS)(raw, name);
    },
  },
];

/** Checks that hold between keys, whatever set them. */
function validate(config: Config): Config {
  const https = config.accounting_proxy.https;
  if (Boolean(https.certFile) !== Boolean(https.keyFile)) {
    throw configError(
      'ACCOUNTING_PROXY_HTTPS_CERT and ACCOUNTING_PROXY_HTTPS_KEY must be set together',
    );
  }
  https.enabled = Boolean(https.certFile && https.keyFile);
  if (config.database.type === 'redis') {
    // The SQLite file name is the default; on Redis it means database 0.
    if (config.database.name === defaultConfig().database.name) config.database.name = '0';
    integer(0, 65535)(config.database.name, 'ACCOUNTING_PROXY_DB_NAME (Redis database index)');
  }
  return config;
}

/** The configuration in force: defaults, then environment overrides. Throws CONFIG_INVALID. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaultConfig();
  for (const variable of environmentVariables) {
    const raw = env[variable.name];
    if (raw !== undefined) variable.apply(config, raw, variable.name);
  }
  return validate(config);
}
