/**
 * The adapter API's listener: JSON-RPC over HTTP POST at `/http` and over WebSocket at `/ws`
 * (the `ws` package), as Privatix dappctrl serves it. Only addresses of the trusted list may
 * connect; a WebSocket upgrade from a browser (an `Origin` header) must come from a listed origin;
 * every message is capped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { type AccountingProxyError, isProxyError, proxyError } from '../errors.ts';
import { addressIn, toBlockList } from '../http/cidr.ts';
import { mediaTypeOf } from '../http/media-type.ts';
import { readBody } from '../http/read-body.ts';
import { sendError } from '../http/send-error.ts';
import type { Logger } from '../log.ts';
import type { JsonRpcServer, RpcConnection } from './json-rpc.ts';

/** The largest JSON-RPC message (a request or a batch) taken, on either transport. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export interface AdapterListenerOptions {
  rpc: JsonRpcServer;
  port: number;
  bind: string;
  /** CIDRs that may connect. */
  trusted: readonly string[];
  /** Origins a browser's WebSocket upgrade may come from. */
  origins: readonly string[];
  log: Logger;
}

export interface AdapterListener {
  port: number;
  close(): Promise<void>;
}

const refuseUpgrade = (socket: Duplex, error: AccountingProxyError) => {
  const body = JSON.stringify({ error: error.message });
  socket.end(
    `HTTP/1.1 ${error.status} ${error.status === 403 ? 'Forbidden' : 'Not Found'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};

export async function startAdapterListener(
  options: AdapterListenerOptions,
): Promise<AdapterListener> {
  const { rpc, log } = options;
  const trusted = toBlockList(options.trusted);
  const origins = new Set(options.origins);
  const untrusted = (req: IncomingMessage) =>
    addressIn(trusted, req.socket.remoteAddress)
      ? undefined
      : proxyError('ADAPTER_UNTRUSTED_ADDRESS', addressOf(req));
  const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0];
  const addressOf = (req: IncomingMessage) =>
    (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  // HTTP requests on one keep-alive connection share what was verified on it, as a WebSocket's
  // messages do.
  const httpState = new WeakMap<Socket, Map<string, unknown>>();
  const stateOf = (socket: Socket) => {
    let state = httpState.get(socket);
    if (!state) {
      state = new Map();
      httpState.set(socket, state);
    }
    return state;
  };

  async function handleHttp(req: IncomingMessage, res: ServerResponse) {
    const refused = untrusted(req);
    if (refused) return sendError(res, refused);
    if (pathOf(req) !== '/http') return sendError(res, proxyError('ADAPTER_NOT_FOUND'));
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendError(res, proxyError('ADAPTER_METHOD_NOT_ALLOWED'));
    }
    if (mediaTypeOf(req.headers['content-type']) !== 'application/json')
      return sendError(res, proxyError('ADAPTER_CONTENT_TYPE'));
    try {
      const body = await readBody(req, MAX_MESSAGE_BYTES);
      // HTTP cannot carry notifications: a subscription is refused as go-ethereum refuses it.
      const answer = await rpc.handle(body.toString('utf8'), {
        subscriptions: new Map(),
        remoteAddress: addressOf(req),
        state: stateOf(req.socket),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer ?? '');
    } catch (error) {
      if (isProxyError(error)) return sendError(res, error);
      log.error({ err: error }, 'adapter API request failed');
      sendError(res, proxyError('INTERNAL_ERROR'));
    }
  }

  const server: Server = createServer((req, res) => void handleHttp(req, res));
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const refused = untrusted(req);
    if (refused) return refuseUpgrade(socket, refused);
    if (pathOf(req) !== '/ws') return refuseUpgrade(socket, proxyError('ADAPTER_NOT_FOUND'));
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      return refuseUpgrade(socket, proxyError('ADAPTER_ORIGIN_REFUSED', origin));
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const connection: RpcConnection = {
        // A notification racing the connection's close is dropped: the adapter is gone.
        push: (text) => {
          if (ws.readyState === ws.OPEN) ws.send(text);
        },
        subscriptions: new Map(),
        remoteAddress: addressOf(req),
        state: new Map(),
      };
      // One message at a time, in order, as go-ethereum reads a connection.
      let queue = Promise.resolve();
      ws.on('message', (data, isBinary) => {
        if (isBinary) return ws.close(1003, 'text frames only');
        queue = queue.then(async () => {
          try {
            const answer = await rpc.handle(data.toString(), connection);
            if (answer !== undefined && ws.readyState === ws.OPEN) ws.send(answer);
          } catch (error) {
            log.error({ err: error }, 'adapter API message failed');
            ws.close(1011, 'internal error');
          }
        });
      });
      ws.on('close', () => {
        for (const stop of connection.subscriptions.values()) stop();
        connection.subscriptions.clear();
      });
      // A message over the cap closes the connection (1009); nothing else to do with the error.
      ws.on('error', () => undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bind, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: async () => {
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
