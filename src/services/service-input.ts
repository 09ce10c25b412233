/**
 * Checks and normalises what an admin types to register a service, so the CLI and the admin API
 * accept exactly the same things.
 */
import type { AdministrationPaths } from '../../config.ts';
import { proxyError } from '../errors.ts';
import type { Service, ServiceCatalog } from '../store/store.ts';

export const SUPPORTED_METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'HEAD',
  'TRACE',
] as const;

// A leading slash, then URI path and query characters (RFC 3986 pchar, '/', '?'); no '//' start,
// no whitespace, no fragment. Anchored and linear: no nested quantifiers.
const PUBLIC_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%?][A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;

export function validatePublicPath(publicPath: string, reserved?: AdministrationPaths): string {
  if (!PUBLIC_PATH.test(publicPath)) throw proxyError('INVALID_PATH', publicPath);
  if (reserved && Object.values(reserved).includes(publicPath)) {
    throw proxyError('RESERVED_PATH', publicPath);
  }
  return publicPath;
}

/** An http(s) URL with a host; one trailing '/' is dropped so paths can be appended to it. */
export function normalizeServiceUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw proxyError('INVALID_URL', raw);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.hash) {
    throw proxyError('INVALID_URL', raw);
  }
  return raw.endsWith('/') ? raw.slice(0, -1) : raw;
}

export function normalizeMethods(methods: readonly string[]): string[] {
  const normalized: string[] = [];
  for (const method of methods) {
    const upper = method.toUpperCase();
    if (!(SUPPORTED_METHODS as readonly string[]).includes(upper)) {
      throw proxyError('INVALID_METHOD', method, SUPPORTED_METHODS.join(','));
    }
    if (!normalized.includes(upper)) normalized.push(upper);
  }
  return normalized;
}

export interface ServiceInput {
  publicPath: string;
  url: string;
  appId: string;
  methods: readonly string[];
  isContextBroker: boolean;
}

export interface ServiceRules {
  reservedPaths: AdministrationPaths;
  contextBrokerEnabled: boolean;
}

// Printable, no spaces, a sane length: the endpoint is shown to buyers, not dialled by the proxy.
const ENDPOINT_ADDRESS = /^[\x21-\x7e]{1,2048}$/;

/** An adapter service: its endpoint address is whatever its buyers' clients connect to. */
export function parseAdapterService(
  input: Pick<ServiceInput, 'publicPath' | 'url' | 'appId'>,
  rules: Pick<ServiceRules, 'reservedPaths'>,
): Service {
  const publicPath = validatePublicPath(input.publicPath, rules.reservedPaths);
  if (!ENDPOINT_ADDRESS.test(input.url)) throw proxyError('INVALID_ENDPOINT_ADDRESS', input.url);
  const appId = input.appId.trim();
  if (appId === '') throw proxyError('INVALID_APP_ID');
  return { publicPath, url: input.url, appId, methods: [], isContextBroker: false, adapter: true };
}

export function parseService(input: ServiceInput, rules: ServiceRules): Service {
  const publicPath = validatePublicPath(input.publicPath, rules.reservedPaths);
  const url = normalizeServiceUrl(input.url);
  const appId = input.appId.trim();
  if (appId === '') throw proxyError('INVALID_APP_ID');
  if (input.isContextBroker && !rules.contextBrokerEnabled) {
    throw proxyError('CONTEXT_BROKER_DISABLED');
  }
  const methods = normalizeMethods(input.methods);
  return { publicPath, url, appId, methods, isContextBroker: input.isContextBroker };
}

// TMF ids are URNs (`urn:ngsi-ld:product-offering:…`) or any other text without spaces.
const CATALOG_ID = /^[^\s\p{Cc}]{1,512}$/u;

/** The offering and product specification ids of a service, checked, each once in given order. */
export function parseCatalog(
  offerings: readonly string[],
  productSpecs: readonly string[],
): ServiceCatalog {
  const check = (ids: readonly string[]) => {
    for (const id of ids) if (!CATALOG_ID.test(id)) throw proxyError('INVALID_CATALOG_ID', id);
    return [...new Set(ids)];
  };
  return { offerings: check(offerings), productSpecs: check(productSpecs) };
}
