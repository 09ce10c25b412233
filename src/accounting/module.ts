import type { IncomingHttpHeaders } from 'node:http';
import type { SessionRates } from '../store/adapter.ts';
import type { TapPlan, TapResult } from './tap.ts';

/**
 * How an exchange ended: `complete` (the client got the whole answer) or `client_gone` (it left
 * mid-body; it pays for what it was sent). A backend that broke off is not metered.
 */
export type ExchangeOutcome = 'complete' | 'client_gone';

/** What the proxy measured of one finished request/response exchange. */
export interface Exchange {
  request: {
    method: string;
    /** Request target as the client sent it, e.g. `/weather/today?city=Madrid`. */
    url: string;
    /** The URL the request was forwarded to, when it went to a backend. */
    backendUrl?: string | undefined;
    headers: IncomingHttpHeaders;
    /** Request body bytes forwarded to the backend. */
    bytes: number;
    /** What the module's request tap saw, when it has one for this exchange. */
    tap?: TapResult;
  };
  response: {
    status: number;
    headers: IncomingHttpHeaders;
    /** Response body bytes sent to the client. */
    bytes: number;
    /** The trailers of a chunked answer, when it had any (never relayed to the client). */
    trailers?: IncomingHttpHeaders;
    /** What the module's response tap saw, when it has one for this exchange. */
    tap?: TapResult;
  };
  /** Milliseconds from forwarding the request until the last response byte. */
  elapsedMs: number;
  /** Always set by the proxy; optional so that an exchange made by hand (a module's test) need not. */
  outcome?: ExchangeOutcome;
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
 * One accounting unit: `acc_modules/<unit>.ts` exports these names. `count` returns a finite
 * amount ≥ 0 for one exchange, or a promise of one (settled within ACCOUNTING_PROXY_MODULE_TIMEOUT);
 * when it throws, times out or answers anything else, `fallback` (default 0) is recorded instead.
 */
export interface AccountingModule {
  unit: string;
  usageSpecification: UsageSpecification;
  count(exchange: Exchange): number | Promise<number>;
  fallback?: number;
  /**
   * What every exchange costs, known before it is forwarded (the `call` unit's 1; its `count` must
   * give the same): a quota reserves it when the request is admitted, so proxies sharing a store
   * admit exactly the quota. Units known only from the answer leave it out.
   */
  perExchange?: number;
  /** Milliseconds its asynchronous `count` may take (default ACCOUNTING_PROXY_MODULE_TIMEOUT). */
  timeoutMs?: number;
  /**
   * How the unit meters a session of a service that is not HTTP (the adapter API): per started
   * session, per byte an update adds, per millisecond open. A unit without it cannot sell one.
   */
  session?: Partial<SessionRates>;
  /** Called once at start-up with the settings modules share (ACCOUNTING_PROXY_UPSTREAM_HEADER…). */
  configure?(settings: ModuleSettings): void;
  /** Response headers the module reads and the client must not get (lower case). */
  hiddenHeaders?(): readonly string[];
  /** A tap on the request body for this exchange, decided on its head; none: no cost at all. */
  tapRequest?(head: TapRequestHead): TapPlan | undefined;
  /** A tap on the response body, decided on the answer's status and headers. */
  tapResponse?(head: TapResponseHead): TapPlan | undefined;
}

/** Settings a module may read, given to its `configure`. */
export interface ModuleSettings {
  /** The response header or trailer the `upstream` unit reads (ACCOUNTING_PROXY_UPSTREAM_HEADER). */
  upstreamHeader: string;
}

export interface TapRequestHead {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface TapResponseHead {
  status: number;
  headers: IncomingHttpHeaders;
  request: TapRequestHead;
}
