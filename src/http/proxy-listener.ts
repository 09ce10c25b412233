import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../config.ts';
import type { Logger } from '../log.ts';

// Room for a data-space JWT with its embedded credential beside the other headers: Node's
// default of 16 KiB would answer 431 before the proxy could say the token is too long.
const MAX_HEADER_BYTES = 32 * 1024;

/** The proxy's HTTP or HTTPS listener, as the configuration describes it. */
export function createProxyListener(
  config: Config,
  handler: Parameters<typeof createHttpServer>[1],
): Server {
  const headersTimeout = config.accounting_proxy.headers_timeout;
  // Node checks these deadlines on a timer: check often enough that a slow-loris client is closed
  // near its deadline rather than up to 30 s (the default interval) later.
  const options = {
    headersTimeout,
    connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)),
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  const https = config.accounting_proxy.https;
  if (!https.enabled) return createHttpServer(options, handler);
  return createHttpsServer(
    {
      ...options,
      cert: readFileSync(https.certFile),
      key: readFileSync(https.keyFile),
      ...(https.caFile ? { ca: readFileSync(https.caFile) } : {}),
      // The marketplace authenticates with a client certificate; consumers need none.
      requestCert: true,
      rejectUnauthorized: false,
    },
    handler,
  );
}

/** Listens, and answers the port bound (the configured one, or the kernel's pick for 0). */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops accepting and lets in-flight exchanges finish (and commit their usage) until the deadline;
 * keep-alive connections are closed as soon as they fall idle, the others at the deadline.
 */
export async function drain(server: Server, graceOver: Promise<void>, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  const finished = await Promise.race([closed.then(() => true), graceOver.then(() => false)]);
  clearInterval(idleSweep);
  if (!finished) {
    log.warn('grace period over: closing the connections still open');
    server.closeAllConnections();
  }
}
