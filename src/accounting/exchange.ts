import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Exchange } from './module.ts';

/** What a metered answer is made of, wherever it came from (a backend, Orion, a subscriber). */
export interface MeasuredAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Body bytes the client (or subscriber) was sent. */
  bytes: number;
}

/**
 * The exchange an accounting module counts: the client's request as it arrived (its headers
 * untouched), the bytes of both bodies and the time from forwarding to the last byte.
 */
export function exchangeOf(
  req: IncomingMessage,
  requestBytes: number,
  answer: MeasuredAnswer,
  elapsedMs: number,
  url = req.url ?? '/',
): Exchange {
  return {
    request: { method: req.method ?? 'GET', url, headers: req.headers, bytes: requestBytes },
    response: answer,
    elapsedMs,
  };
}
