/**
 * Composition root: builds every part from the configuration, starts them, and stops them in
 * reverse order.
 */

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { sendError } from './http/send-error.ts';
import type { Logger } from './log.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/store.ts';

export interface RunningProxy {
  /** The port actually bound (differs from the configured one when that is 0). */
  port: number;
  store: Store;
  close(): Promise<void>;
}

function createListener(config: Config, handler: Parameters<typeof createHttpServer>[1]): Server {
  const https = config.accounting_proxy.https;
  if (!https.enabled) return createHttpServer(handler);
  return createHttpsServer(
    {
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

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startProxy(config: Config, log: Logger): Promise<RunningProxy> {
  const store = await openStore(config.database);
  const server = createListener(config, (_req, res) => {
    sendError(res, 404, 'No service registered for this path');
  });
  let port: number;
  try {
    port = await listen(server, config.accounting_proxy.port);
  } catch (error) {
    await store.close();
    throw error;
  }
  log.info(
    { port, store: store.kind, https: config.accounting_proxy.https.enabled },
    'accounting-proxy listening',
  );
  return {
    port,
    store,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
