/**
 * The ops listener: `/metrics`, `/healthz`, `/readyz` on their own port and address, so that
 * consumers of the proxy port cannot reach them.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyError } from '../errors.ts';
import { sendError } from '../http/send-error.ts';
import type { Logger } from '../log.ts';
import type { ReadinessReport } from './readiness.ts';

export interface OpsSources {
  metrics(): Promise<{ contentType: string; text: string }>;
  readiness(): Promise<ReadinessReport>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export async function startOpsServer(options: {
  port: number;
  bind: string;
  sources: OpsSources;
  log: Logger;
}): Promise<OpsServer> {
  const { sources, log } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
    if (!known) return void sendError(res, proxyError('OPS_NOT_FOUND'));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return void sendError(res, proxyError('OPS_METHOD_NOT_ALLOWED'));
    }
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      sources.readiness().then(
        ({ ready, reasons }) =>
          ready
            ? sendJson(res, 200, { status: 'ready' })
            : sendJson(res, 503, { status: 'not ready', reasons }),
        (error: unknown) =>
          sendJson(res, 503, { status: 'not ready', reasons: [(error as Error).message] }),
      );
      return;
    }
    sources.metrics().then(
      ({ contentType, text }) => {
        res.writeHead(200, {
          'content-type': contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      },
      (error: unknown) => {
        log.error({ err: error }, 'cannot collect the metrics');
        sendError(res, proxyError('METRICS_UNAVAILABLE', (error as Error).message));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, bind: options.bind }, 'ops listener: /metrics, /healthz, /readyz');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
