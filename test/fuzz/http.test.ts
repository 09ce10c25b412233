/**
 * Hostile input: 10,000 generated malformed requests against the admin API and the proxy path.
 * Never a 5xx caused by the input, never an unhandled rejection, bounded memory, and the proxy
 * still serves a valid request afterwards.
 */
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { request } from '../support/client.ts';
import { type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

// The heap check needs a full collection: the test turns gc on for itself rather than relying on
// a flag of the runner.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const RUNS = 10_000;

/** Status of one request, or undefined when the client itself refused to send it. */
function send(
  port: number,
  agent: Agent,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', () => resolve(res.statusCode));
      });
    } catch {
      return resolve(undefined);
    }
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

/** Sends raw bytes and answers the status line's code. */
function raw(port: number, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    const status = () => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
    // Node 24 resets a connection it refused while the client still writes (1 MB of headers):
    // the answer that came before the reset is what counts.
    socket.on('error', (error) => (answer ? resolve(status()) : reject(error)));
    socket.on('close', () => resolve(status()));
  });
}

const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '//',
    '%00',
    '%',
    'svc',
    'echo',
    'accounting_proxy',
    'newBuy',
    'urls',
    'units',
    'keys',
    'deleteBuy',
  ),
  fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}$/),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => encodeURIComponent(s)),
);
const path = fc
  .tuple(
    fc.constantFrom('/svc', '/accounting_proxy', '', '/exact?x=1', '/other'),
    fc.array(segment, { maxLength: 5 }),
    fc.option(fc.stringMatching(/^[A-Za-z0-9=&%+[\]._-]{0,20}$/)),
  )
  .map(([base, parts, query]) => `${base}/${parts.join('/')}${query === null ? '' : `?${query}`}`);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    Buffer.from('{"orderId":'),
    Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    Buffer.alloc(0),
  ),
  fc
    .record({
      orderId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      productId: fc.string(),
      customer: fc.string(),
      productSpecification: fc.oneof(
        fc.constant(undefined),
        fc.record({ url: fc.string(), unit: fc.string(), recordType: fc.string() }),
      ),
    })
    .map((value) => Buffer.from(JSON.stringify(value))),
);
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/json; charset=utf-8',
      'application/json; charset=klingon',
      '*/*',
    ),
    'x-auth-token': fc.oneof(fc.constantFrom('alice-token', 'root-token', ''), headerValue),
    authorization: fc.oneof(
      fc.constantFrom('Bearer alice-token', 'bearer root-token', 'Basic eA==', 'Bearer'),
      headerValue,
    ),
    'x-api-key': fc.oneof(fc.constantFrom('key-call', 'key-bob', ''), headerValue),
    'x-custom': headerValue,
  },
  { requiredKeys: [] },
);

describe('hostile input', () => {
  const [sqlite] = storeBackends();
  let f: ProxyFixture;
  let agent: Agent;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  before(async () => {
    process.on('unhandledRejection', onRejection);
    f = await startProxyFixture(sqlite?.database() ?? assert.fail());
    agent = new Agent({ keepAlive: true, maxSockets: 8 });
  });
  after(async () => {
    process.off('unhandledRejection', onRejection);
    agent.destroy();
    await f.close();
  });

  test(`${RUNS} generated requests never get a 5xx, and the proxy serves afterwards`, async () => {
    const port = Number(new URL(f.url).port);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        path,
        headers,
        body,
        async (method, target, sent, payload) => {
          const status = await send(port, agent, method, target, sent, payload);
          if (status === undefined) return true;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          return status < 500;
        },
      ),
      { numRuns: RUNS, seed: 20261124 },
    );
    assert.deepEqual(rejections, []);
    assert.ok(
      (statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 0,
      'some generated requests were valid',
    );
    gc();
    assert.ok(process.memoryUsage().heapUsed <= 2 * heapBefore, 'heap stays bounded');
    const valid = await request(`${f.url}/svc/echo`, { headers: f.buyer() });
    assert.equal(valid.status, 200);
  });

  test('oversized headers, conflicting framing and duplicate lengths are refused by the parser', async () => {
    const port = Number(new URL(f.url).port);
    assert.equal(
      await raw(
        port,
        `GET /svc/echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`,
      ),
      431,
    );
    assert.equal(
      await raw(
        port,
        'POST /accounting_proxy/newBuy HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
      400,
    );
    assert.equal(
      await raw(
        port,
        'POST /svc/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      ),
      400,
    );
    const valid = await request(`${f.url}/svc/echo`, { headers: f.buyer() });
    assert.equal(valid.status, 200);
  });

  test('dot segments and encoded slashes never reach another service', async () => {
    for (const target of [
      '/svc/../other/echo',
      '/svc/%2e%2e/other/echo',
      '/svc//other/echo',
      '/other/../svc/echo',
    ]) {
      const res = await request(`${f.url}${target}`, {
        headers: { 'x-auth-token': 'bob-token', 'x-api-key': 'key-bob' },
      });
      // bob's key is for /other only: anything routed by the first segment /svc refuses it, and
      // /other/… goes to /other's backend with its path as sent, never re-routed to /svc.
      if (target.startsWith('/svc')) assert.equal(res.status, 401, target);
      else assert.equal(res.json<{ url: string }>().url, target.slice('/other'.length), target);
    }
  });
});

describe('slow-loris connections', () => {
  const [sqlite] = storeBackends();
  let f: ProxyFixture;
  before(async () => {
    f = await startProxyFixture(sqlite?.database() ?? assert.fail(), {
      ACCOUNTING_PROXY_HEADERS_TIMEOUT: '500',
    });
  });
  after(async () => {
    await f.close();
  });

  test('clients trickling headers are closed after the headers timeout, and others are served meanwhile', async () => {
    const port = Number(new URL(f.url).port);
    const trickles: Socket[] = [];
    const closed = Array.from(
      { length: 50 },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write('GET /svc/echo HTTP/1.1\r\nHost: x\r\n');
          });
          const drip = setInterval(() => {
            if (!socket.destroyed) socket.write('X-Slow: y\r\n');
          }, 100);
          socket.on('error', () => {});
          socket.resume();
          socket.once('close', () => {
            clearInterval(drip);
            resolve();
          });
          trickles.push(socket);
        }),
    );
    try {
      for (let i = 0; i < 20; i++) {
        const res = await request(`${f.url}/svc/echo`, { headers: f.buyer() });
        assert.equal(res.status, 200);
      }
      const everyOneClosed = Promise.all(closed).then(() => true);
      const bound = new Promise<boolean>((resolve) =>
        setTimeout(() => resolve(false), 10_000).unref(),
      );
      assert.ok(await Promise.race([everyOneClosed, bound]), 'the server closed every slow client');
      const valid = await request(`${f.url}/svc/echo`, { headers: f.buyer() });
      assert.equal(valid.status, 200);
    } finally {
      for (const socket of trickles) socket.destroy();
    }
  });
});
