import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
  /** Stops listening (connections are refused) until `comeBack()`, on the same port. */
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
}

/** An HTTP server on a free 127.0.0.1 port that closes its open connections when asked to stop. */
export async function listenOnLoopback(handler: RequestListener): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close,
    goDown: close,
    comeBack: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  };
}
