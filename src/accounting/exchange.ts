import type { IncomingHttpHeaders } from 'node:http';

/** What a metered answer is made of, wherever it came from (a backend, Orion, a subscriber). */
export interface MeasuredAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Body bytes the client (or subscriber) was sent. */
  bytes: number;
  /** The trailers of a chunked answer, when it had any. */
  trailers?: IncomingHttpHeaders;
}
