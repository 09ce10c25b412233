/**
 * What the session server answers with, in the JSON go's encoding/json gives Privatix's
 * data.Endpoint and data.Offering: field names, nulls for nil pointers, base64 for byte slices.
 * There are no blockchain offerings here: fields without a counterpart get Go's zero values.
 */
import type { AdapterClient, Product } from '../store/adapter.ts';
import type { Service } from '../store/store.ts';

/** Privatix's `externalIP` replaces an endpoint address that only the host itself can reach. */
const LOOPBACK = new Set(['', '127.0.0.1', 'localhost', '::1']);
const hostOf = (address: string) => {
  try {
    return new URL(address).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return address;
  }
};
export const isLoopbackAddress = (address: string) =>
  LOOPBACK.has(address) || LOOPBACK.has(hostOf(address));

/** A Go map as encoding/json writes it: keys sorted. */
const goMap = (map: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export const serviceEndpointAddress = (service: Service, product: Product) =>
  product.endpointAddress ?? service.url;

/** What a buyer's client needs to connect (the `access` of `GET keys`, the endpoint message). */
export function clientAccess(
  service: Service,
  product: Product | undefined,
  client: {
    clientKey: string;
    clientPassword: string;
  },
) {
  return {
    clientKey: client.clientKey,
    password: client.clientPassword,
    serviceEndpointAddress: product ? serviceEndpointAddress(service, product) : service.url,
    additionalParams: product?.config ?? {},
  };
}

/** sess_getEndpoint's answer. */
export function endpointMessage(service: Service, product: Product, client: AdapterClient) {
  const { clientKey, clientPassword } = client.access;
  return {
    id: clientKey,
    template: product.productId,
    channel: clientKey,
    hash: '',
    RawMsg: '',
    paymentReceiverAddress: null,
    serviceEndpointAddress: serviceEndpointAddress(service, product),
    username: clientKey,
    password: clientPassword,
    // A Go []byte: base64 of the configuration's JSON.
    additionalParams: Buffer.from(JSON.stringify(goMap(product.config))).toString('base64'),
    countryStatus: null,
  };
}

/** sess_startSession's answer: the offering the client's buy is for. */
export function offeringMessage(service: Service, product: Product, unit: string) {
  return {
    id: product.productId,
    isLocal: false,
    ipType: 'ipv4',
    template: product.productId,
    product: product.productId,
    hash: '',
    status: 'registered',
    blockNumberUpdated: 0,
    agent: '',
    rawMsg: '',
    serviceName: service.publicPath,
    description: null,
    country: 'ZZ',
    supply: 0,
    currentSupply: 0,
    unitName: unit,
    unitType: unit === 'millisecond' ? 'seconds' : 'units',
    billingType: 'postpaid',
    setupPrice: 0,
    unitPrice: 0,
    minUnits: 0,
    maxUnit: null,
    billingInterval: 1,
    maxBillingUnitLag: 0,
    maxSuspendTime: 0,
    maxInactiveTimeSec: 0,
    freeUnits: 0,
    additionalParams: goMap(product.config),
    autoPopUp: null,
    somcType: 0,
    somcData: '',
    somcSuccessPing: null,
  };
}
