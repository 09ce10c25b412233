import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { listenOnLoopback, type TestServer } from './http-server.ts';

/** Binary bytes the backend serves: this block repeated. */
const BLOCK = randomBytes(1024 * 1024);

/** SHA-256 of the first n bytes the backend serves on /bytes/<n> and /chunked/<n>. */
export function sha256OfServedBytes(n: number): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < n; sent += BLOCK.length) {
    hash.update(BLOCK.subarray(0, Math.min(BLOCK.length, n - sent)));
  }
  return hash.digest('hex');
}

export const GZIP_BODY = gzipSync(Buffer.from('{"compressed":true}'.repeat(100)));

export interface FakeBackend extends TestServer {
  /** Requests received, in order (method and raw URL). */
  received: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  /** Resolves when a request to /hang has been abandoned by its client. */
  hangAborted: Promise<void>;
}

async function writeBytes(res: ServerResponse, n: number): Promise<void> {
  for (let sent = 0; sent < n; ) {
    const chunk = BLOCK.subarray(0, Math.min(BLOCK.length, n - sent));
    sent += chunk.length;
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

/**
 * A backend with one behaviour per path:
 * /echo/...     JSON of what it received (method, url, headers, body length and SHA-256)
 * /bytes/<n>    n binary bytes with Content-Length; /chunked/<n> the same, chunked
 * /status/<s>   an empty answer with that status
 * /redirect     302 to /elsewhere
 * /gzip         a gzip-encoded body as is
 * /hang         never answers; /reset destroys the connection; /slow-body sends half then stalls;
 * /reset-mid-body sends half the body, then destroys the connection
 */
export async function startFakeBackend(): Promise<FakeBackend> {
  const received: FakeBackend['received'] = [];
  let hangAborted!: () => void;
  const hangAbortedPromise = new Promise<void>((resolve) => {
    hangAborted = resolve;
  });
  const server = await listenOnLoopback((req, res) => {
    const url = req.url ?? '/';
    received.push({ method: req.method ?? '', url, headers: req.headers });
    const [, first = '', second = ''] = url.split('?')[0]?.split('/') ?? [];
    switch (first) {
      case 'bytes':
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': Number(second),
        });
        void writeBytes(res, Number(second));
        return;
      case 'chunked':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        void writeBytes(res, Number(second));
        return;
      case 'status':
        res.writeHead(Number(second), { 'content-length': 0 }).end();
        return;
      case 'redirect':
        res.writeHead(302, { location: '/elsewhere', 'content-length': 0 }).end();
        return;
      case 'gzip':
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': GZIP_BODY.length,
        });
        res.end(GZIP_BODY);
        return;
      case 'delay':
        setTimeout(() => {
          res.writeHead(200, { 'content-length': 2 }).end('ok');
        }, Number(second));
        return;
      case 'hang':
        req.socket.once('close', () => hangAborted());
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-mid-body':
        res.writeHead(200, { 'content-length': 1000 });
        res.write(Buffer.alloc(500), () => req.socket.destroy());
        return;
      case 'slow-body':
        res.writeHead(200, { 'content-length': 1000 });
        res.write(Buffer.alloc(500));
        return;
      default: {
        const hash = createHash('sha256');
        let length = 0;
        req.on('data', (chunk: Buffer) => {
          length += chunk.length;
          hash.update(chunk);
        });
        req.on('end', () => {
          const body = JSON.stringify({
            method: req.method,
            url,
            headers: req.headers,
            bodyLength: length,
            bodySha256: hash.digest('hex'),
          });
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            connection: 'keep-alive, x-hop',
            'x-hop': 'must not reach the client',
            'keep-alive': 'timeout=77',
          });
          res.end(body);
        });
      }
    }
  });
  return Object.assign(server, { received, hangAborted: hangAbortedPromise });
}
