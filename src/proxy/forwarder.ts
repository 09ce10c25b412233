import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { ChunkObserver } from '../accounting/meter.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../http/headers.ts';
import { sendError } from '../http/send-error.ts';
import { Agent } from '../http/undici-agent.ts';
import { errorCode, upstreamFailure } from '../http/upstream-failure.ts';
import type { Logger } from '../log.ts';
import type { ExchangeTrace } from '../ops/exchange-trace.ts';
import { ChunkRelease, releasableBuffer } from './chunk-release.ts';
import type { BackendAnswer, ExchangeHooks, ForwardTarget } from './exchange-hooks.ts';
import { clientHeaders } from './exchange-hooks.ts';
import type { RelayGc } from './relay-gc.ts';

export interface Forwarder {
  /**
   * Forwards the request and streams the answer back; `hooks` make it metered. The trace gets the
   * bytes and timings, and its request id goes to the backend and back to the client.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: ForwardTarget,
    hooks: ExchangeHooks | undefined,
    trace: ExchangeTrace,
  ): void;
  close(): Promise<void>;
}

class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

/**
 * One exchange as an undici dispatch handler: streams the body to the client with backpressure,
 * counts it, and for metered exchanges holds the end (and, with a Content-Length, the chunk that
 * completes the body, since the client knows it is complete at its last byte) until the usage is
 * committed. A class rather than closures: one of these exists per request.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private answer: BackendAnswer | undefined;
  private expectedBytes: number | undefined;
  private received = 0;
  requestBytes = 0;
  private held: Buffer | undefined;
  private clientGone = false;
  private backendFailed = false;
  private done = false;
  private drainListening = false;
  private toldUnanswered = false;
  private observer: ChunkObserver | undefined;
  private release: ChunkRelease | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly hooks: ExchangeHooks | undefined,
    private readonly trace: ExchangeTrace,
    private readonly log: Logger,
    readonly relayGc: RelayGc,
  ) {
    res.once('close', () => this.onClientClose());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    // 1xx interim answers (100 Continue is Node's server's business) are not relayed.
    if (status < 200) return;
    const answer = { status, headers: downstreamResponseHeaders(headers) };
    answer.headers['x-request-id'] = this.trace.id;
    this.answer = answer;
    if (this.hooks && this.req.method !== 'HEAD' && status !== 204 && status !== 304) {
      const length = Number(headers['content-length']);
      if (Number.isSafeInteger(length) && length > 0) this.expectedBytes = length;
    }
    try {
      this.res.writeHead(status, statusMessage, clientHeaders(answer.headers, this.hooks));
      this.observer = this.hooks?.observeResponse?.(answer);
    } catch (error) {
      // A header Node refuses to write (an invalid character from the backend, say).
      this.answer = undefined;
      controller.abort(error as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.expectedBytes !== undefined && this.received >= this.expectedBytes) {
      this.relayGc.relayed(chunk.length);
      this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
      // Its tap must see it before the usage is counted, which the client's last byte waits for.
      this.observer?.see(chunk);
      return;
    }
    let passed: boolean;
    const releasable = this.observer?.holdsChunks ? undefined : releasableBuffer(chunk);
    if (releasable) {
      this.release ??= new ChunkRelease();
      passed = this.release.write(this.res, chunk, releasable);
    } else {
      this.relayGc.relayed(chunk.length);
      passed = this.res.write(chunk);
    }
    this.observer?.see(chunk);
    if (!passed) {
      controller.pause();
      if (!this.drainListening) {
        this.drainListening = true;
        this.res.on('drain', () => this.controller?.resume());
      }
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.done = true;
    if (this.answer && trailers && Object.keys(trailers).length > 0)
      this.answer.trailers = trailers;
    const { hooks, answer, res, trace } = this;
    trace.upstreamEndedAt = trace.clock.monotonic();
    trace.bytesIn = this.requestBytes;
    trace.bytesOut = this.received;
    if (!hooks || !answer) {
      res.end();
      return;
    }
    const bytes = { request: this.requestBytes, response: this.received };
    void hooks.beforeEnd(answer, bytes).then(() => {
      if (!res.destroyed) res.end(this.held);
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** The exchange failed before or during the answer. */
  fail(error: Error): void {
    this.done = true;
    const { req, res } = this;
    if (!this.answer) this.unanswered();
    if (this.clientGone || error instanceof ClientGoneError || res.destroyed || req.errored) {
      res.destroy();
      return;
    }
    this.trace.bytesIn = this.requestBytes;
    if (res.headersSent) {
      // The backend broke off mid-body: the client must see a broken response, not a short one.
      this.backendFailed = true;
      this.trace.upstreamFailed('UPSTREAM_ABORTED');
      this.trace.bytesOut = this.received - (this.held?.length ?? 0);
      res.destroy();
      return;
    }
    const failure = upstreamFailure(error);
    this.log.warn(
      { code: failure.code, err: error.message, upstreamCode: errorCode(error) },
      'backend request failed',
    );
    this.trace.upstreamFailed(failure.code);
    res.setHeader('x-request-id', this.trace.id);
    this.trace.bytesOut = sendError(res, failure);
  }

  /** Once per exchange, whichever of the client and the backend ends it first. */
  private unanswered(): void {
    if (this.toldUnanswered) return;
    this.toldUnanswered = true;
    this.hooks?.onUnanswered?.();
  }

  private onClientClose(): void {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    if (!this.done) this.controller?.abort(new ClientGoneError());
    const sent = this.received - (this.held?.length ?? 0);
    this.trace.bytesIn = this.requestBytes;
    this.trace.bytesOut = sent;
    if (!this.answer) this.unanswered();
    if (this.answer && this.hooks) {
      this.hooks.onIncomplete(
        this.answer,
        { request: this.requestBytes, response: sent },
        this.backendFailed,
      );
    }
  }
}

/**
 * The request body as undici reads it, counted on the way. A 'data' listener would start the
 * stream flowing before undici is connected and lose what it emitted meanwhile.
 */
async function* countedBody(
  req: IncomingMessage,
  exchange: Exchange,
  observe: ChunkObserver | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    exchange.requestBytes += (chunk as Buffer).length;
    exchange.relayGc.relayed((chunk as Buffer).length);
    yield chunk as Buffer;
    observe?.see(chunk as Buffer);
  }
}

const appended = (existing: string | undefined, value: string) =>
  existing ? `${existing}, ${value}` : value;

// Node's server has answered any 100-continue; Host is the backend's; the API key is this
// proxy's credential, never the backend's.
const NOT_FORWARDED = new Set(['expect', 'host', 'x-api-key']);

/**
 * Forwards with undici's connection pools (keep-alive, one pool per backend origin). The backend
 * sees the client's request minus hop-by-hop headers, with X-Forwarded-* and its own Host, at the
 * exact path; errors map to JSON: refused or reset → 502, silent past the timeout → 504.
 */
export function createForwarder(options: {
  timeoutMs: number;
  log: Logger;
  relayGc: RelayGc;
}): Forwarder {
  const { timeoutMs, log, relayGc } = options;
  const agent = new Agent({
    connections: 1024,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const hosts = new Map<string, string>();
  const hostOf = (origin: string): string => {
    let host = hosts.get(origin);
    if (host === undefined) {
      host = new URL(origin).host;
      if (hosts.size > 10_000) hosts.clear();
      hosts.set(origin, host);
    }
    return host;
  };

  return {
    forward(req, res, target, hooks, trace) {
      const incoming = req.headers;
      const hasBody =
        incoming['transfer-encoding'] !== undefined ||
        (incoming['content-length'] !== undefined && incoming['content-length'] !== '0');
      const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
      // A new object: accounting modules see the client's headers as they arrived.
      const headers = upstreamRequestHeaders(incoming, NOT_FORWARDED, target.headers);
      headers['x-forwarded-for'] = appended(
        incoming['x-forwarded-for'] as string | undefined,
        req.socket.remoteAddress ?? '',
      );
      headers['x-forwarded-proto'] = appended(
        incoming['x-forwarded-proto'] as string | undefined,
        encrypted ? 'https' : 'http',
      );
      headers['x-forwarded-host'] = incoming['x-forwarded-host'] ?? incoming.host;
      headers.host = hostOf(target.origin);
      headers['x-request-id'] = trace.id;
      const exchange = new Exchange(req, res, hooks, trace, log, relayGc);
      const body = hasBody ? countedBody(req, exchange, hooks?.observeRequest?.()) : null;
      trace.upstreamStartedAt = trace.clock.monotonic();
      try {
        agent.dispatch(
          {
            origin: target.origin,
            method: req.method ?? 'GET',
            path: target.path,
            // Every value here is a string: the client's, ours, and the identity headers.
            headers: headers as Record<string, string | string[]>,
            // undici reads async iterables (documented), which its type for `body` leaves out.
            body: body as Readable | null,
          },
          exchange,
        );
      } catch (error) {
        exchange.fail(error as Error);
      }
    },
    async close() {
      await agent.destroy();
    },
  };
}
