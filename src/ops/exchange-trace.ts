/**
 * One exchange as operators see it: its request id, what it was and how it ended, turned into
 * metrics and one access-log line when the response closes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.ts';
import type { AccessLog } from './access-log.ts';
import type { Metrics, Outcome } from './metrics.ts';

// A client's id is kept when it is one token of visible ASCII that fits a log field.
const SANE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Filled in by whoever handles the exchange; read once, when the response closes. */
export class ExchangeTrace {
  /** The registered public path; '' while (or if) the request matches none. */
  service = '';
  /** `admin_api`: a request of the marketplace's admin API, not of the proxy path. */
  outcome: Outcome | 'admin_api' = 'forwarded';
  /** The error code of a refusal or upstream failure. */
  code = '';
  userId: string | undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** Monotonic milliseconds: forwarding started, the backend's last byte arrived. */
  upstreamStartedAt = -1;
  upstreamEndedAt = -1;
  amount: number | undefined;
  unit: string | undefined;

  constructor(
    readonly id: string,
    readonly startedAt: number,
    readonly clock: Clock,
  ) {}

  refused(code: string, bytesOut: number): void {
    this.outcome = 'refused';
    this.code = code;
    this.bytesOut = bytesOut;
  }

  /** Refused by a rate limit or a spent quota (429), before the backend was asked. */
  limited(code: string, bytesOut: number): void {
    this.refused(code, bytesOut);
    this.outcome = 'limited';
  }

  upstreamFailed(code: string): void {
    this.outcome = 'upstream_error';
    this.code = code;
  }
}

export interface ExchangeObserver {
  /** Starts the trace of an exchange; it is reported when `res` closes. */
  begin(req: IncomingMessage, res: ServerResponse): ExchangeTrace;
}

export interface ExchangeObserverOptions {
  clock: Clock;
  /** Absent: no metrics are kept. */
  metrics?: Metrics | undefined;
  /** Absent: no access log. */
  accessLog?: AccessLog | undefined;
}

const pathOf = (url: string | undefined) => {
  if (!url) return '/';
  const query = url.indexOf('?');
  // The query is left out: it may carry credentials (access_token=…).
  return query === -1 ? url : url.slice(0, query);
};

const TRACE = Symbol('exchange trace');
type TracedResponse = ServerResponse & { [TRACE]?: ExchangeTrace };

export function createExchangeObserver(options: ExchangeObserverOptions): ExchangeObserver {
  const { clock, metrics, accessLog } = options;

  function report(req: IncomingMessage, res: ServerResponse, trace: ExchangeTrace): void {
    const ended = clock.monotonic();
    const upstreamMs =
      trace.upstreamEndedAt >= 0 ? trace.upstreamEndedAt - trace.upstreamStartedAt : undefined;
    if (metrics && trace.outcome !== 'admin_api') {
      metrics.exchange(
        trace.service,
        trace.outcome,
        trace.code,
        (ended - trace.startedAt) / 1000,
        upstreamMs === undefined ? undefined : upstreamMs / 1000,
      );
    }
    if (!accessLog) return;
    accessLog.write({
      requestId: trace.id,
      method: req.method ?? '',
      path: pathOf(req.url),
      service: trace.service,
      status: res.statusCode,
      outcome: trace.outcome,
      code: trace.code,
      bytesIn: trace.bytesIn,
      bytesOut: trace.bytesOut,
      durationMs: ended - trace.startedAt,
      upstreamMs,
      user: trace.userId,
      amount: trace.amount,
      unit: trace.unit,
      // The client left (or the connection broke) before the last byte.
      complete: res.writableFinished,
    });
  }

  // One listener for every response, which finds its trace on the response: no closure is made
  // per exchange.
  function onClose(this: TracedResponse): void {
    const trace = this[TRACE];
    if (trace) report(this.req, this, trace);
  }

  return {
    begin(req, res) {
      const trace = new ExchangeTrace(requestIdOf(req), clock.monotonic(), clock);
      // 'close' comes once, after the last byte or when the connection breaks.
      if (metrics || accessLog) {
        (res as TracedResponse)[TRACE] = trace;
        res.on('close', onClose);
      }
      return trace;
    },
  };
}
