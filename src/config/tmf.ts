/**
 * The settings of the `tmf4` marketplace mode (BAE 10+, DOME, data spaces: the TM Forum v4 APIs),
 * each once: its key, default, variable and parser, and the checks that hold between them.
 */
import {
  boolean,
  configError,
  fail,
  httpUrl,
  integer,
  nonEmpty,
  oneOf,
  type Parse,
  secret,
} from './parsers.ts';
import { type EnvironmentVariable, variable } from './variable.ts';

export type MarketplaceMode = 'bae7' | 'tmf4';

/** A proxy unit and the name the marketplace gives it (a usage price's `unitOfMeasure.units`). */
export interface TmfUnitName {
  unit: string;
  name: string;
}

export interface TmfConfig {
  /** The marketplace's TMF base URL; each API below defaults to `<url>/tmf-api/<module>/v4`. */
  url: string;
  inventory_url: string;
  catalog_url: string;
  party_url: string;
  usage_url: string;
  /** A static bearer token for the TMF APIs ('' for none). */
  token: string;
  /** OAuth2 client credentials for the TMF APIs (all three, or none). */
  token_url: string;
  client_id: string;
  client_secret: string;
  /** The provider's own party id: the Seller of every usage record. */
  seller: string;
  /** The base URL the marketplace reaches this proxy at, for product events ('' for none). */
  callback_url: string;
  /** Milliseconds between two reconciliations with the product inventory. */
  reconcile: number;
  /** Milliseconds of a usage window; windows are aligned to multiples of it since the epoch. */
  usage_window: number;
  /** `PUT /usage/{id}` (DOME's extension) instead of `POST /usage`. */
  usage_put: boolean;
  /** relatedParty roles that name the customer, lower case. */
  customer_roles: string[];
  units: TmfUnitName[];
}

export function defaultTmfConfig(): TmfConfig {
  return {
    url: '',
    inventory_url: '',
    catalog_url: '',
    party_url: '',
    usage_url: '',
    token: '',
    token_url: '',
    client_id: '',
    client_secret: '',
    seller: '',
    callback_url: '',
    reconcile: 300_000,
    usage_window: 3_600_000,
    usage_put: false,
    customer_roles: ['buyer', 'customer', 'consumer'],
    units: [],
  };
}

const roleList: Parse<string[]> = (raw, name) => {
  const roles = raw
    .split(',')
    .map((role) => role.trim().toLowerCase())
    .filter((role) => role !== '');
  return roles.length > 0
    ? [...new Set(roles)]
    : fail(name, 'a comma-separated list of roles', raw);
};

/** `call=api call,megabyte=MB`: a proxy unit, `=`, the marketplace's name of it. */
const unitNames: Parse<TmfUnitName[]> = (raw, name) =>
  raw
    .split(',')
    .filter((entry) => entry.trim() !== '')
    .map((entry) => {
      const [unit = '', tmfName = ''] = entry.split('=').map((part) => part.trim());
      if (!/^[A-Za-z][\w-]*$/.test(unit) || tmfName === '' || entry.split('=').length !== 2) {
        fail(name, 'comma-separated `unit=name` pairs such as `call=api call,megabyte=MB`', raw);
      }
      return { unit, name: tmfName };
    });

const MODULES = {
  inventory_url: ['INVENTORY_URL', 'productInventory', 'TMF637 product inventory'],
  catalog_url: ['CATALOG_URL', 'productCatalogManagement', 'TMF620 product catalog'],
  party_url: ['PARTY_URL', 'party', 'TMF632 party management'],
  usage_url: ['USAGE_URL', 'usageManagement', 'TMF635 usage management'],
} as const;

export const marketplaceVariables: readonly EnvironmentVariable[] = [
  variable(
    'MARKETPLACE',
    'marketplace.mode',
    oneOf(['bae7', 'tmf4'] as const),
    '`bae7`: purchases by the admin API, TMF635 v2 records; `tmf4`: purchases from the TMF637 product inventory, TMF635 v4 records',
  ),
  variable(
    'TMF_URL',
    'tmf.url',
    httpUrl,
    "the marketplace's TMF base URL; each TMF API defaults to `<url>/tmf-api/<module>/v4`",
  ),
  ...Object.entries(MODULES).map(([key, [name, module, what]]) =>
    variable(
      `TMF_${name}`,
      `tmf.${key}`,
      httpUrl,
      `${what} (default \`<TMF_URL>/tmf-api/${module}/v4\`)`,
    ),
  ),
  variable('TMF_TOKEN', 'tmf.token', secret, 'static bearer token for the TMF APIs (never logged)'),
  variable(
    'TMF_TOKEN_URL',
    'tmf.token_url',
    httpUrl,
    'OAuth2 token endpoint for the TMF APIs (client credentials grant)',
  ),
  variable('TMF_CLIENT_ID', 'tmf.client_id', nonEmpty, 'OAuth2 client id for the TMF APIs'),
  variable(
    'TMF_CLIENT_SECRET',
    'tmf.client_secret',
    secret,
    'OAuth2 client secret for the TMF APIs (never logged)',
  ),
  variable(
    'TMF_SELLER',
    'tmf.seller',
    nonEmpty,
    "the provider's own party id, the `Seller` of each usage record",
  ),
  variable(
    'TMF_CALLBACK_URL',
    'tmf.callback_url',
    httpUrl,
    'base URL the marketplace reaches this proxy at; product events come to `<base>/accounting_proxy/tmf/<secret>`',
  ),
  variable(
    'TMF_RECONCILE',
    'tmf.reconcile',
    integer(100, 86_400_000),
    'milliseconds between two reconciliations with the product inventory',
  ),
  variable(
    'TMF_USAGE_WINDOW',
    'tmf.usage_window',
    integer(1000, 31 * 86_400_000),
    'milliseconds of a usage window (one record per product, unit and window), aligned to multiples of it since the Unix epoch',
  ),
  variable(
    'TMF_USAGE_PUT',
    'tmf.usage_put',
    boolean,
    "`true`: `PUT /usage/{id}` (DOME's extension) instead of `POST /usage`",
  ),
  variable(
    'TMF_CUSTOMER_ROLES',
    'tmf.customer_roles',
    roleList,
    'relatedParty roles that name the customer, comma-separated, any case',
  ),
  variable(
    'TMF_UNITS',
    'tmf.units',
    unitNames,
    'the marketplace name of a unit, as `unit=name` pairs (e.g. `call=api call,megabyte=MB`); a unit not listed is named as itself',
  ),
];

/** The TMF API base URLs in force, each its own setting or derived from TMF_URL. */
function resolveApiUrls(tmf: TmfConfig): void {
  for (const [key, [name, module]] of Object.entries(MODULES) as [
    keyof typeof MODULES,
    (typeof MODULES)[keyof typeof MODULES],
  ][]) {
    if (tmf[key] !== '') continue;
    if (tmf.url === '') {
      throw configError(
        `ACCOUNTING_PROXY_TMF_${name} (or ACCOUNTING_PROXY_TMF_URL) must be set when ACCOUNTING_PROXY_MARKETPLACE is tmf4`,
      );
    }
    tmf[key] = `${tmf.url}/tmf-api/${module}/v4`;
  }
}

/** Checks between the TMF settings, in `tmf4` mode only: `bae7` ignores them. */
export function validateTmf(mode: MarketplaceMode, tmf: TmfConfig): void {
  if (mode !== 'tmf4') return;
  resolveApiUrls(tmf);
  if (tmf.seller === '') {
    throw configError(
      'ACCOUNTING_PROXY_TMF_SELLER must name the provider party when ACCOUNTING_PROXY_MARKETPLACE is tmf4',
    );
  }
  const credentials = [tmf.token_url, tmf.client_id, tmf.client_secret].filter((v) => v !== '');
  if (credentials.length !== 0 && credentials.length !== 3) {
    throw configError(
      'ACCOUNTING_PROXY_TMF_TOKEN_URL, ACCOUNTING_PROXY_TMF_CLIENT_ID and ACCOUNTING_PROXY_TMF_CLIENT_SECRET must be set together',
    );
  }
  if (credentials.length === 3 && tmf.token !== '') {
    throw configError(
      'ACCOUNTING_PROXY_TMF_TOKEN and OAuth2 client credentials (ACCOUNTING_PROXY_TMF_CLIENT_ID…) cannot both be set',
    );
  }
}

/** The length of a usage window in force: in tmf4 mode only (the admin API's buys have none). */
export const usageWindowMs = (config: {
  marketplace: { mode: MarketplaceMode };
  tmf: TmfConfig;
}) => (config.marketplace.mode === 'tmf4' ? config.tmf.usage_window : undefined);
