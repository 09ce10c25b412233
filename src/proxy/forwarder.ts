import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseUrl, type Url } from 'node:url';
import httpProxy from 'http-proxy';
import { proxyError } from '../errors.ts';
import { sendError } from '../http/send-error.ts';
import type { Logger } from '../log.ts';
import { EXACT_PATH_HEADER, ExactPathHttpAgent, ExactPathHttpsAgent } from './exact-path-agent.ts';
import { stripHopByHop } from './hop-by-hop.ts';

export interface ForwardTarget {
  /** `http://host:port` of the backend. */
  origin: string;
  /** Path and query sent to the backend, byte for byte. */
  path: string;
}

/** What the caller does with the backend's answer; the forwarder has already cleaned its headers. */
export interface ExchangeHandlers {
  /** The backend answered; headers are not yet written to the client. */
  onResponse(upstream: IncomingMessage, res: ServerResponse): void;
}

export interface Forwarder {
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: ForwardTarget,
    handlers: ExchangeHandlers,
  ): void;
  close(): void;
}

interface InFlight {
  handlers: ExchangeHandlers;
  timedOut: boolean;
}

/**
 * http-proxy with keep-alive agents, our own response handling (for metering) and errors mapped to
 * JSON: refused or reset → 502, silent past the timeout → 504. The backend sees the client's
 * request minus hop-by-hop headers, with X-Forwarded-* and its own Host.
 */
export function createForwarder(options: { timeoutMs: number; log: Logger }): Forwarder {
  const agentOptions = {
    keepAlive: true,
    maxSockets: 1024,
    maxFreeSockets: 256,
    scheduling: 'lifo' as const,
  };
  const httpAgent = new ExactPathHttpAgent(agentOptions);
  const httpsAgent = new ExactPathHttpsAgent(agentOptions);
  const inFlight = new WeakMap<IncomingMessage, InFlight>();
  // http-proxy parses a string target on every request; each backend origin is parsed once here.
  const targets = new Map<string, Url>();
  const parsedTarget = (origin: string): Url => {
    let parsed = targets.get(origin);
    if (!parsed) {
      parsed = parseUrl(origin);
      if (targets.size > 10_000) targets.clear();
      targets.set(origin, parsed);
    }
    return parsed;
  };
  const proxy = httpProxy.createProxyServer({
    xfwd: true,
    changeOrigin: true,
    selfHandleResponse: true,
  });

  proxy.on('proxyReq', (proxyReq, req, res) => {
    const state = inFlight.get(req);
    proxyReq.setTimeout(options.timeoutMs, () => {
      if (state) state.timedOut = true;
      proxyReq.destroy();
    });
    // A client that goes away must not keep the backend working for nobody.
    res.on('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
  });

  proxy.on('proxyRes', (upstream, req, res) => {
    const state = inFlight.get(req);
    if (!state) return;
    stripHopByHop(upstream.headers);
    // Node frames the body for the client itself (Content-Length or chunked).
    delete upstream.headers['transfer-encoding'];
    state.handlers.onResponse(upstream, res as ServerResponse);
  });

  const onError = (error: Error, req: IncomingMessage, res: ServerResponse) => {
    const state = inFlight.get(req);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const failure = state?.timedOut
      ? proxyError('UPSTREAM_TIMEOUT')
      : proxyError('UPSTREAM_UNREACHABLE');
    options.log.warn({ code: failure.code, err: error.message }, 'backend request failed');
    sendError(res, failure.status, failure.message);
  };

  return {
    forward(req, res, target, handlers) {
      inFlight.set(req, { handlers, timedOut: false });
      stripHopByHop(req.headers);
      req.headers[EXACT_PATH_HEADER] = target.path;
      const agent = target.origin.startsWith('https:') ? httpsAgent : httpAgent;
      proxy.web(
        req,
        res,
        { target: parsedTarget(target.origin), agent },
        (error, request, response) => onError(error, request, response as ServerResponse),
      );
    },
    close() {
      proxy.close();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
