import type { IncomingHttpHeaders } from 'node:http';

/** What the proxy measured of one finished request/response exchange. Modules never see bodies. */
export interface Exchange {
  request: {
    method: string;
    /** Request target as the client sent it, e.g. `/weather/today?city=Madrid`. */
    url: string;
    headers: IncomingHttpHeaders;
    /** Request body bytes forwarded to the backend. */
    bytes: number;
  };
  response: {
    status: number;
    headers: IncomingHttpHeaders;
    /** Response body bytes sent to the client. */
    bytes: number;
  };
  /** Milliseconds from forwarding the request until the last response byte. */
  elapsedMs: number;
}

/** A TMF635 UsageSpecification, as registered with the marketplace's usage API. */
export interface UsageSpecification {
  name: string;
  description: string;
  usageSpecCharacteristic: {
    name: string;
    description: string;
    configurable: boolean;
    usageSpecCharacteristicValue: {
      valueType: 'string' | 'number';
      default: boolean;
      value: string;
      valueFrom: string;
      valueTo: string;
    }[];
  }[];
}

/**
 * One accounting unit: `acc_modules/<unit>.ts` exports these three names. `count` must be pure and
 * return a finite amount ≥ 0 for one exchange.
 */
export interface AccountingModule {
  unit: string;
  usageSpecification: UsageSpecification;
  count(exchange: Exchange): number;
}
