import { limitErrorEntries } from './error-table-limits.ts';
import { tokenErrorEntries } from './error-table-tokens.ts';

/**
 * The entries of the error table (see errors.ts): a stable code, the HTTP status it maps to (or
 * `exit`), and its message.
 */
export const errorEntries = {
  // Start-up and commands: configuration and accounting modules
  CONFIG_INVALID: { exit: 1, message: (problem: string) => problem },
  MODULE_MISSING: {
    exit: 1,
    message: (unit: string) =>
      `No accounting module for unit "${unit}": missing file acc_modules/${unit}.ts`,
  },
  MODULE_INVALID: {
    exit: 1,
    message: (unit: string, problem: string) =>
      `Invalid accounting module acc_modules/${unit}.ts: ${problem}`,
  },
  MODULE_LOAD_FAILED: {
    exit: 1,
    message: (unit: string, detail: string) =>
      `Cannot load accounting module acc_modules/${unit}.ts: ${detail}`,
  },
  // CLI: usage reports
  REPORT_LOCKED: { exit: 1, message: () => 'another report cycle is running; try again later' },
  REPORT_NO_KEY: {
    exit: 1,
    message: () =>
      'no marketplace key yet (the marketplace sends it with POST /accounting_proxy/urls)',
  },
  REPORT_BUYS_HELD: {
    exit: 1,
    message: (count: number, buys: string) => `${count} buy(s) need attention: ${buys}`,
  },
  REPORT_INCOMPLETE: {
    exit: 1,
    message: (count: number, first: string) => `${count} failure(s), first: ${first}`,
  },
  // Store: services
  SERVICE_EXISTS: {
    status: 409,
    message: (publicPath: string) =>
      `Service "${publicPath}" already exists. Use --force to update it (its buys and administrators are kept).`,
  },
  CATALOG_ID_TAKEN: {
    status: 409,
    message: (kind: string, id: string, publicPath: string) =>
      `The ${kind} ${id} already belongs to service ${publicPath}`,
  },
  SERVICE_NOT_FOUND: {
    status: 404,
    message: (publicPath: string) => `No service registered for public path "${publicPath}".`,
  },
  SERVICE_HAS_BUYS: {
    status: 409,
    message: (publicPath: string, count: number) =>
      `Service "${publicPath}" still has ${count} buy(s); they must be deleted through the marketplace (deleteBuy) first.`,
  },
  // Store: administrators
  ADMIN_EXISTS: {
    status: 409,
    message: (userId: string) => `Admin "${userId}" already exists.`,
  },
  ADMIN_NOT_FOUND: {
    status: 404,
    message: (userId: string) =>
      `Admin "${userId}" does not exist. Admin must be added before binding it.`,
  },
  ADMIN_NOT_BOUND: {
    status: 404,
    message: (userId: string, publicPath: string) =>
      `Admin "${userId}" is not an administrator of "${publicPath}".`,
  },
  // Store: buys and usage
  BUY_NOT_FOUND: {
    status: 404,
    message: (apiKey: string) => `No buy with API key "${apiKey.slice(0, 8)}…".`,
  },
  BUY_NOT_HELD: {
    status: 404,
    message: (orderId: string, productId: string) =>
      `No buy of order "${orderId}" and product "${productId}" has a record rejected by the marketplace or out of step with it.`,
  },
  BUY_UNIT_CHANGE: {
    status: 422,
    message: (from: string, to: string) =>
      `The unit of this buy cannot change from "${from}" to "${to}" while it has usage not yet reported.`,
  },
  INVALID_AMOUNT: {
    status: 500,
    message: (amount: number) => `Usage amounts must be finite and not negative, got ${amount}.`,
  },
  SUBSCRIPTION_NOT_FOUND: { status: 404, message: () => 'Unknown subscription' },
  // Store: adapter services and their products
  SERVICE_NOT_ADAPTER: {
    status: 422,
    message: (path: string) =>
      `Service "${path}" is not an adapter service (register it with addService --adapter).`,
  },
  PRODUCT_EXISTS: {
    status: 409,
    message: (path: string) =>
      `Service "${path}" has a product already; --rotate replaces its credentials.`,
  },
  PRODUCT_NOT_FOUND: { status: 404, message: (product: string) => `No product "${product}".` },
  ADAPTER_UNIT: {
    status: 422,
    message: (unit: string, units: string) =>
      `An adapter service cannot be sold by "${unit}": use one of ${units}.`,
  },
  ...tokenErrorEntries,
  ...limitErrorEntries,
  // Proxy path: authorization
  API_KEY_MISSING: { status: 401, message: () => 'Undefined "X-API-KEY" header' },
  API_KEY_INVALID: { status: 401, message: () => 'Invalid API key' },
  METHOD_NOT_ALLOWED: {
    status: 405,
    message: (methods: string) => `Valid methods are: ${methods}`,
  },
  UNIT_NOT_CONFIGURED: {
    status: 500,
    message: (unit: string) => `No accounting module is configured for unit "${unit}"`,
  },
  // Proxy path: the backend
  UPSTREAM_UNREACHABLE: { status: 502, message: () => 'The service is unreachable' },
  UPSTREAM_TIMEOUT: { status: 504, message: () => 'The service did not respond in time' },
  REQUEST_NOT_FORWARDABLE: {
    status: 400,
    message: (detail: string) => `The request cannot be forwarded: ${detail}`,
  },
  // Admin API
  ADMIN_CONTENT_TYPE: {
    status: 415,
    message: () => 'Content-Type must be "application/json"',
  },
  ADMIN_SCHEMA: { status: 422, message: (problem: string) => `Invalid json: ${problem}` },
  ADMIN_MISSING_URL: { status: 422, message: () => 'Missing URL' },
  ADMIN_INVALID_URL: {
    status: 422,
    message: (url: string) =>
      `Invalid URL "${url}": an http or https URL of this proxy is expected`,
  },
  ADMIN_UNKNOWN_SERVICE: {
    status: 422,
    message: (path: string) => `No service is registered for the path "${path}"`,
  },
  ADMIN_NOT_SERVICE_ADMIN: {
    status: 401,
    message: () => 'Access restricted to administrators of the service only',
  },
  ADMIN_CLIENT_CERTIFICATE: {
    status: 401,
    message: (reason: string) => `Unauthorized: Client certificate required ${reason}`,
  },
  ADMIN_UNTRUSTED_ADDRESS: {
    status: 403,
    message: (address: string) =>
      `Marketplace endpoints only answer trusted addresses (ACCOUNTING_PROXY_TRUSTED_ADDRESSES); ${address} is not one`,
  },
  ADMIN_PURCHASES_FROM_INVENTORY: {
    status: 404,
    message: () =>
      'Not found: in the tmf4 marketplace mode purchases come from the TMF637 product inventory, not from newBuy, deleteBuy or urls',
  },
  ADMIN_METHOD_NOT_ALLOWED: {
    status: 405,
    message: (allowed: string) => `Method not allowed here; use ${allowed}`,
  },
  // The TMF v4 event listener (tmf4 mode)
  TMF_LISTENER_NOT_FOUND: { status: 404, message: () => 'Not found' },
  TMF_LISTENER_METHOD: { status: 405, message: () => 'Method not allowed here; use POST' },
  // Ops listener (/metrics, /healthz, /readyz)
  OPS_NOT_FOUND: {
    status: 404,
    message: () => 'Not found: the ops listener serves /metrics, /healthz and /readyz',
  },
  OPS_METHOD_NOT_ALLOWED: { status: 405, message: () => 'Method not allowed here; use GET' },
  // Adapter API listener (JSON-RPC)
  ADAPTER_NOT_FOUND: { status: 404, message: () => 'Not found: JSON-RPC is at /http and /ws' },
  ADAPTER_METHOD_NOT_ALLOWED: { status: 405, message: () => 'Use POST to send JSON-RPC' },
  ADAPTER_CONTENT_TYPE: {
    status: 415,
    message: () => 'invalid content type, only application/json is supported',
  },
  ADAPTER_UNTRUSTED_ADDRESS: {
    status: 403,
    message: (address: string) =>
      `Adapter API refused for ${address}: not in ACCOUNTING_PROXY_ADAPTER_TRUSTED`,
  },
  ADAPTER_ORIGIN_REFUSED: {
    status: 403,
    message: (origin: string) =>
      `WebSocket origin ${origin} refused: not in ACCOUNTING_PROXY_ADAPTER_ORIGINS`,
  },
  ADAPTER_SERVICE_NOT_HTTP: {
    status: 404,
    message: (path: string) =>
      `${path} is an adapter service: its buyers connect to the service itself, not through this proxy`,
  },
  METRICS_UNAVAILABLE: {
    status: 503,
    message: (detail: string) => `Metrics unavailable: ${detail}`,
  },
  // Orion Context Broker support
  ORION_NOT_YOUR_SUBSCRIPTION: {
    status: 403,
    message: () => 'This subscription does not belong to your buy',
  },
  ORION_NOTIFICATION_URL_DENIED: {
    status: 422,
    message: (url: string) =>
      `Notification URL not allowed: "${url}" points to a private or loopback address`,
  },
  ORION_INVALID_NOTIFICATION: {
    status: 400,
    message: () => 'A notification is a JSON object with a subscriptionId',
  },
  ORION_SUBSCRIBER_UNREACHABLE: {
    status: 504,
    message: () => 'The subscriber did not take the notification',
  },
  REQUEST_BODY_TOO_LARGE: {
    status: 413,
    message: (limit: string) => `Request body larger than ${limit}`,
  },
  INVALID_JSON: { status: 400, message: () => 'Invalid JSON' },
  // Failures of our own: logged with their cause, answered with these
  INTERNAL_ERROR: { status: 500, message: () => 'Internal error' },
  ADMIN_API_UNAVAILABLE: { status: 500, message: () => 'Admin API unavailable' },
  SUBSCRIPTION_NOT_HANDLED: { status: 502, message: () => 'The subscription could not be handled' },
  NOTIFICATION_NOT_DELIVERED: {
    status: 502,
    message: () => 'The notification could not be delivered',
  },
  // Store availability
  STORE_CONNECTION_FAILED: {
    status: 503,
    message: (store: string, detail: string) => `cannot open the store (${store}): ${detail}`,
  },
  STORE_UNAVAILABLE: {
    status: 503,
    message: () => 'Accounting store unavailable',
  },
  // Input validation shared by CLI and admin API
  INVALID_PATH: { status: 422, message: (path: string) => `Invalid path format: "${path}".` },
  RESERVED_PATH: { status: 422, message: (path: string) => `${path} is a reserved path.` },
  INVALID_URL: {
    status: 422,
    message: (url: string) => `Invalid url format: "${url}" (an http or https URL is expected).`,
  },
  INVALID_APP_ID: { status: 422, message: () => 'Undefined appId' },
  INVALID_CATALOG_ID: {
    status: 422,
    message: (id: string) =>
      `Invalid offering or product specification id "${id}": 1 to 512 characters, no spaces`,
  },
  INVALID_ENDPOINT_ADDRESS: {
    status: 422,
    message: (address: string) =>
      `Invalid endpoint address: "${address}" (a URI or host:port without spaces is expected).`,
  },
  ADAPTER_SERVICE_OPTIONS: {
    exit: 1,
    message: () => 'An adapter service takes no HTTP methods and cannot be a Context Broker.',
  },
  INVALID_PRODUCT_CONFIG: {
    exit: 1,
    message: (entry: string) => `Invalid --config entry "${entry}": key=value is expected.`,
  },
  INVALID_METHOD: {
    status: 422,
    message: (method: string, supported: string) =>
      `Http method not valid: "${method}". Http methods supported: ${supported}`,
  },
  CONTEXT_BROKER_DISABLED: {
    status: 422,
    message: () =>
      'Context Broker is not enabled. Set ACCOUNTING_PROXY_CONTEXT_BROKER=true to register Orion services.',
  },
} as const satisfies Record<
  string,
  ({ status: number } | { exit: 1 }) & { message: (...args: never[]) => string }
>;
