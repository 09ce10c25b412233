import type { IncomingMessage, ServerResponse } from 'node:http';

export interface MeteredRelayOptions {
  /** The body's Content-Length, when the backend gave one. */
  expectedBytes: number | undefined;
  /** Commits the exchange's usage; the response ends only once it resolves. */
  beforeEnd(bytes: number): Promise<void>;
  /** The exchange ended before its last byte: bytes the client got, and whether the backend broke off. */
  onIncomplete(bytesSent: number, upstreamFailed: boolean): void;
}

/**
 * Streams the backend's body to the client, counting bytes, and holds the response's end until the
 * usage is committed. With a Content-Length the client knows the body is complete at its last byte,
 * so the chunk that completes it is held as well; a chunked body is only complete with its
 * terminating chunk, written by res.end(). Listeners rather than pipe() and a Transform: this runs
 * for every metered request.
 */
export function meteredRelay(
  upstream: IncomingMessage,
  res: ServerResponse,
  options: MeteredRelayOptions,
): void {
  let received = 0;
  let held: Buffer | undefined;
  let upstreamFailed = false;
  upstream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (options.expectedBytes !== undefined && received >= options.expectedBytes) {
      held = chunk;
    } else if (!res.write(chunk)) {
      upstream.pause();
    }
  });
  res.on('drain', () => upstream.resume());
  upstream.once('end', () => {
    void options.beforeEnd(received).then(() => {
      if (!res.destroyed) res.end(held);
    });
  });
  const upstreamBroke = () => {
    // When the client left first, tearing down the upstream request lands here too.
    if (!res.socket || res.socket.destroyed) return;
    upstreamFailed = true;
    res.destroy();
  };
  upstream.once('aborted', upstreamBroke);
  upstream.once('error', upstreamBroke);
  res.once('close', () => {
    if (res.writableFinished) return;
    upstream.destroy();
    options.onIncomplete(received - (held?.length ?? 0), upstreamFailed);
  });
}
