/**
 * Parsers of environment values: each takes the raw text and the variable's name, and answers the
 * value or throws CONFIG_INVALID with one line naming the variable and what it must be.
 */
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import { validate as isValidCron } from 'node-cron';
import { proxyError } from '../errors.ts';
import { toBlockList } from '../http/cidr.ts';

export type Parse<T> = (raw: string, name: string) => T;

export const configError = (problem: string) => proxyError('CONFIG_INVALID', problem);

/** Throws CONFIG_INVALID: `<name> must be <expected>, got "<raw>"`. */
export const fail = (name: string, expected: string, raw: string): never => {
  throw configError(`${name} must be ${expected}, got "${raw}"`);
};

export const integer =
  (min: number, max: number): Parse<number> =>
  (raw, name) => {
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || value < min || value > max) {
      fail(name, `an integer ${min}-${max}`, raw);
    }
    return value;
  };

export const port = integer(1, 65535);

/** A port, or 0 for off. */
export const portOrOff = integer(0, 65535);

/** How many worker processes: a count, or `auto` for the available parallelism. */
export const workerCount: Parse<number> = (raw, name) => {
  if (raw.trim().toLowerCase() === 'auto') return availableParallelism();
  return integer(1, 256)(raw, name);
};

export const boolean: Parse<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return fail(name, 'true or false', raw);
};

export const oneOf =
  <T extends string>(choices: readonly T[]): Parse<T> =>
  (raw, name) => {
    const value = raw.trim() as T;
    return choices.includes(value) ? value : fail(name, `one of ${choices.join(', ')}`, raw);
  };

export const nonEmpty: Parse<string> = (raw, name) =>
  raw.trim() === '' ? fail(name, 'a non-empty string', raw) : raw.trim();

/** Any text, trimmed; empty allowed (a role nobody has, say). */
export const text: Parse<string> = (raw) => raw.trim();

export const httpUrl: Parse<string> = (raw, name) => {
  try {
    const url = new URL(raw.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:')
      return raw.trim().replace(/\/+$/, '');
  } catch {
    // reported below
  }
  return fail(name, 'an http(s) URL', raw);
};

/** An absolute URL path without query, such as `/accounting_proxy/units`. */
export const urlPath: Parse<string> = (raw, name) =>
  /^\/[^\s?#]*$/.test(raw.trim()) ? raw.trim() : fail(name, 'a path starting with /', raw);

const UNIT_NAME = /^[A-Za-z][\w-]*$/;

export const unitList: Parse<string[]> = (raw, name) => {
  const units = raw
    .split(',')
    .map((unit) => unit.trim())
    .filter((unit) => unit !== '');
  if (units.length === 0 || !units.every((unit) => UNIT_NAME.test(unit))) {
    fail(name, 'a comma-separated list of unit names (letters, digits, _ and -)', raw);
  }
  return [...new Set(units)];
};

export const cron: Parse<string> = (raw, name) => {
  const fields = raw.trim().split(/\s+/);
  if ((fields.length !== 5 && fields.length !== 6) || !isValidCron(raw.trim())) {
    fail(name, 'a cron expression with 5 or 6 fields', raw);
  }
  return raw.trim();
};

/** A CIDR list, checked by building the BlockList the proxy will use. */
export const cidrList: Parse<string[]> = (raw, name) => {
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

/** Web origins (`https://console.example.com`), comma-separated. */
export const originList: Parse<string[]> = (raw, name) => {
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin) {
      return fail(
        name,
        'a comma-separated list of origins such as https://console.example.com',
        raw,
      );
    }
  }
  return origins;
};

/** A CIDR list, or `none` for an empty one. */
export const cidrListOrNone: Parse<string[]> = (raw, name) =>
  raw.trim() === 'none' ? [] : cidrList(raw, name);

export const ipAddress: Parse<string> = (raw, name) => {
  const address = nonEmpty(raw, name);
  return isIPv4(address) || isIPv6(address) ? address : fail(name, 'an IP address', raw);
};

export const readableFile: Parse<string> = (raw, name) =>
  existsSync(raw) ? raw : fail(name, 'the path of a readable file', raw);

export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):(\d{1,5})$/;

/** `host:port,host:port,…` (an IPv6 host in brackets). */
export const hostPortList: Parse<HostPort[]> = (raw, name) => {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const parsed = items.map((item) => {
    const match = HOST_PORT.exec(item);
    const portNumber = Number(match?.[2]);
    if (!match || portNumber < 1 || portNumber > 65535) return undefined;
    return { host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port: portNumber };
  });
  if (parsed.length === 0 || parsed.some((item) => item === undefined)) {
    fail(name, 'a comma-separated list of host:port', raw);
  }
  return parsed as HostPort[];
};

/** A secret: taken as given, never echoed in an error. */
export const secret: Parse<string> = (raw) => raw;

export interface RedisUrl extends HostPort {
  tls: boolean;
  db: number | undefined;
  username: string;
  password: string;
}

/**
 * `redis://[user:password@]host:port[/db]` or `rediss://` (TLS). The error never repeats the
 * value: it may hold a password.
 */
export const redisUrl: Parse<RedisUrl> = (raw, name) => {
  const problem = () =>
    configError(`${name} must be redis://[user:password@]host:port[/db] or rediss://…`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw problem();
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw problem();
  }
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) throw problem();
  if (url.search !== '' || url.hash !== '') throw problem();
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    tls: url.protocol === 'rediss:',
    db: db === '' ? undefined : Number(db),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
};

/** A Redis key prefix: braces would change the hash tag every key is built with. */
export const redisPrefix: Parse<string> = (raw, name) => {
  const value = nonEmpty(raw, name);
  return /[{}]/.test(value) ? fail(name, 'a prefix without { or }', raw) : value;
};

/** An HTTP header field name (an RFC 9110 token). */
export const headerName: Parse<string> = (raw, name) => {
  const value = raw.trim();
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)
    ? value
    : fail(name, 'an HTTP header name', raw);
};
