import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ChunkObserver } from '../accounting/meter.ts';

/** What the forwarder and the one who meters an exchange tell each other. */
export interface ForwardTarget {
  /** `http://host:port` of the backend. */
  origin: string;
  /** Path and query sent to the backend, byte for byte. */
  path: string;
  /** Headers set for the backend over the client's (the identity headers). */
  headers: Readonly<OutgoingHttpHeaders>;
}

/** The backend's answer, its headers already cleaned of hop-by-hop fields. */
export interface BackendAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The trailers that ended a chunked body, once it has ended (never relayed to the client). */
  trailers?: IncomingHttpHeaders;
}

/** Body bytes of one exchange: sent to the backend, and of the answer. */
export interface ExchangeBytes {
  request: number;
  response: number;
}

/** How a metered exchange ends; the forwarder relays the body itself. */
export interface ExchangeHooks {
  /**
   * The backend's body has ended. The client's last byte waits until the returned promise
   * resolves, so a client never holds a complete answer that was not billed.
   */
  beforeEnd(answer: BackendAnswer, bytes: ExchangeBytes): Promise<void>;
  /**
   * The exchange ended before its last byte: `bytes.response` is what the client got, and
   * `backendFailed` says whether the backend broke it off (rather than the client leaving).
   */
  onIncomplete(answer: BackendAnswer, bytes: ExchangeBytes, backendFailed: boolean): void;
  /** The backend never answered (refused, timed out, or the client left first). */
  onUnanswered?(): void;
  /** Response headers the module reads and the client must not get, lower case. */
  hiddenHeaders?: readonly string[];
  /** Headers the client gets over the backend's (the RateLimit fields), lower case. */
  addedHeaders?: Readonly<Record<string, string>>;
  /** Sees each request body chunk once undici has taken it (a module's tap), if set. */
  observeRequest?(): ChunkObserver | undefined;
  /** Sees each response body chunk once it is passed to the client, if set. */
  observeResponse?(answer: BackendAnswer): ChunkObserver | undefined;
}

/** The headers the client gets: those of the answer but the ones a module hides, and the added. */
export function clientHeaders(
  headers: IncomingHttpHeaders,
  hooks: ExchangeHooks | undefined,
): IncomingHttpHeaders {
  const hidden = hooks?.hiddenHeaders;
  const added = hooks?.addedHeaders;
  if (!hidden && !added) return headers;
  const shown = { ...headers };
  for (const name of hidden ?? []) delete shown[name];
  return added ? Object.assign(shown, added) : shown;
}
