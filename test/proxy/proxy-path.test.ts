import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { GZIP_BODY, sha256OfServedBytes } from '../support/backend.ts';
import { eventually, request } from '../support/client.ts';
import { keyrockUser } from '../support/idm.ts';
import {
  API_KEYS,
  APP_ID,
  type ProxyFixture,
  startProxyFixture,
} from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

for (const backend of storeBackends()) {
  describe(`proxy path on ${backend.name}`, () => {
    let f: ProxyFixture;
    before(async () => {
      f = await startProxyFixture(backend.database(), { ACCOUNTING_PROXY_BACKEND_TIMEOUT: '500' });
    });
    after(() => f.close());

    /** Committed usage, after every commit the recorder has queued (some are fire-and-forget). */
    const usage = async (apiKey: string) => {
      await f.proxy.recorder.drain();
      return (await f.store.getUsage(apiKey))?.pending ?? 0;
    };
    const get = (path: string, headers: Record<string, string> = {}) =>
      request(`${f.url}${path}`, { headers });

    describe('refusals', () => {
      const cases: {
        why: string;
        path?: string;
        method?: string;
        headers: Record<string, string>;
        status: number;
        error: string;
      }[] = [
        {
          why: 'no token',
          headers: {},
          status: 401,
          error: 'Auth-token not found in request headers',
        },
        {
          why: 'a Basic authorization',
          headers: { authorization: 'Basic YTpi' },
          status: 401,
          error: 'Invalid Auth-Token type (basic)',
        },
        {
          why: 'an unknown token',
          headers: { 'x-auth-token': 'nope' },
          status: 401,
          error: 'Invalid Auth-Token',
        },
        {
          why: 'an empty bearer token',
          headers: { authorization: 'Bearer ' },
          status: 401,
          error: 'Invalid Auth-Token',
        },
        {
          why: 'a token of another application',
          headers: { 'x-auth-token': 'other-app-token', 'x-api-key': API_KEYS.call },
          status: 401,
          error: 'The auth-token scope is not valid for the current application',
        },
        {
          why: 'an unknown path',
          path: '/nowhere/x',
          headers: { 'x-auth-token': 'alice-token' },
          status: 401,
          error: 'The auth-token scope is not valid for the current application',
        },
        {
          why: 'a buyer without API key',
          headers: { 'x-auth-token': 'alice-token' },
          status: 401,
          error: 'Undefined "X-API-KEY" header',
        },
        {
          why: 'an empty API key',
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': '' },
          status: 401,
          error: 'Undefined "X-API-KEY" header',
        },
        {
          why: 'an unknown API key',
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key-cal' },
          status: 401,
          error: 'Invalid API key',
        },
        {
          why: "another customer's API key",
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'key-bob' },
          status: 401,
          error: 'Invalid API key',
        },
        {
          why: 'an API key of another service',
          path: '/other/x',
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': API_KEYS.call },
          status: 401,
          error: 'Invalid API key',
        },
        {
          why: 'a buyer using a method the service lacks',
          method: 'PATCH',
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': API_KEYS.call },
          status: 405,
          error: 'Valid methods are: GET,POST,PUT,DELETE,HEAD',
        },
        {
          why: 'an admin using a method the service lacks',
          method: 'PATCH',
          headers: { 'x-auth-token': 'root-token' },
          status: 405,
          error: 'Valid methods are: GET,POST,PUT,DELETE,HEAD',
        },
      ];
      for (const c of cases) {
        test(`refuses ${c.why} with ${c.status} and a JSON error`, async () => {
          const before = await usage(API_KEYS.call);
          const seen = f.backend.received.length;
          const res = await request(`${f.url}${c.path ?? '/svc/echo'}`, {
            method: c.method ?? 'GET',
            headers: c.headers,
          });
          assert.equal(res.status, c.status);
          assert.match(String(res.headers['content-type']), /^application\/json/);
          assert.deepEqual(res.json(), { error: c.error });
          assert.equal(f.backend.received.length, seen, 'nothing reaches the backend');
          assert.equal(await usage(API_KEYS.call), before, 'nothing is metered');
        });
      }

      test('answers 503 when the IdM fails, not that the token is bad', async () => {
        f.idm.failWith = 500;
        try {
          const res = await get('/svc/echo', {
            'x-auth-token': 'fresh-token-1',
            'x-api-key': API_KEYS.call,
          });
          assert.equal(res.status, 503);
          assert.deepEqual(res.json(), { error: 'Identity manager unavailable' });
        } finally {
          f.idm.failWith = undefined;
        }
      });
    });

    describe('authentication', () => {
      test('100 parallel requests with a new token make exactly one IdM call', async () => {
        f.idm.users.set('burst-token', keyrockUser('alice', APP_ID));
        const responses = await Promise.all(
          Array.from({ length: 100 }, () =>
            get('/svc/echo', { 'x-auth-token': 'burst-token', 'x-api-key': API_KEYS.call }),
          ),
        );
        assert.ok(responses.every((r) => r.status === 200));
        assert.equal(f.idm.calls.get('burst-token'), 1);
      });

      test('remembers a rejected token briefly instead of asking the IdM again', async () => {
        for (let i = 0; i < 5; i++)
          assert.equal((await get('/svc/echo', { 'x-auth-token': 'bad-repeat' })).status, 401);
        assert.equal(f.idm.calls.get('bad-repeat'), 1);
      });

      test('accepts the token as Authorization: bearer in any case', async () => {
        const res = await get('/svc/echo', {
          authorization: 'bEaReR alice-token',
          'x-api-key': API_KEYS.call,
        });
        assert.equal(res.status, 200);
      });
    });

    describe('forwarding', () => {
      test('sends the identity headers, drops the API key and hop-by-hop headers', async () => {
        const res = await get('/svc/echo/a', {
          'x-auth-token': 'alice-token',
          'x-api-key': API_KEYS.call,
          'x-nick-name': 'mallory',
          'x-roles': 'admin,',
          connection: 'x-private',
          'x-private': 'secret',
          'proxy-authorization': 'Basic eA==',
          te: 'trailers',
          'x-custom': 'kept',
        });
        assert.equal(res.status, 200);
        const { headers, url } = res.json<{ headers: Record<string, string>; url: string }>();
        assert.equal(url, '/echo/a');
        assert.equal(headers['x-nick-name'], 'alice');
        assert.equal(headers['x-email'], 'alice@test.com');
        assert.equal(headers['x-display-name'], 'alice display');
        assert.equal(headers['x-roles'], 'customer-role,106,');
        assert.equal(headers.authorization, 'Bearer alice-token');
        assert.equal(headers['x-custom'], 'kept');
        for (const gone of ['x-api-key', 'x-private', 'proxy-authorization', 'te']) {
          assert.equal(headers[gone], undefined, `${gone} must not reach the backend`);
        }
        assert.equal(headers.host, new URL(f.backend.url).host);
        assert.match(headers['x-forwarded-for'] ?? '', /^(::ffff:)?127\.0\.0\.1$/);
        assert.equal(headers['x-forwarded-proto'], 'http');
        assert.equal(headers['x-forwarded-host'], new URL(f.url).host);
        // and the backend's hop-by-hop answer headers stop at the proxy
        assert.equal(res.headers['x-hop'], undefined);
        assert.notEqual(res.headers['keep-alive'], 'timeout=77');
      });

      test('appends the rest of the path and the query byte for byte', async () => {
        const rest = "/echo//a%2Fb/{x}|'y'?c[d]=3&e=a+b&f&g=%20";
        const res = await get(`/svc${rest}`, f.buyer());
        assert.equal(res.json<{ url: string }>().url, rest);
        const bare = await get('/svc?z=1', f.buyer());
        assert.equal(bare.json<{ url: string }>().url, '/?z=1');
      });

      test('matches a complete-path service exactly, before the first segment', async () => {
        const res = await get('/exact?x=1', {
          'x-auth-token': 'alice-token',
          'x-api-key': 'key-exact',
        });
        assert.equal(res.status, 200);
        assert.equal(res.json<{ url: string }>().url, '/echo/exact?y=2');
        const other = await get('/exact?x=2', {
          'x-auth-token': 'alice-token',
          'x-api-key': 'key-exact',
        });
        assert.equal(other.status, 401);
      });

      test('streams request bodies of every method to the backend', async () => {
        const body = Buffer.alloc(3 * 1024 * 1024 + 7, 0xab);
        for (const method of ['POST', 'PUT', 'DELETE', 'GET']) {
          const res = await request(`${f.url}/svc/echo`, {
            method,
            headers: { ...f.buyer(), 'content-type': 'application/octet-stream' },
            body,
          });
          assert.equal(res.status, 200, `${method}: ${res.body.toString()}`);
          const echo = res.json<{ bodyLength: number; method: string }>();
          assert.equal(echo.method, method);
          assert.equal(echo.bodyLength, body.length);
        }
      });

      test('passes binary and gzip bodies through untouched', async () => {
        const binary = await get('/svc/bytes/100000', f.buyer());
        assert.equal(binary.body.length, 100000);
        assert.equal(
          sha256OfServedBytes(100000),
          createHash('sha256').update(binary.body).digest('hex'),
        );
        const gzip = await get('/svc/gzip', { ...f.buyer(), 'accept-encoding': 'gzip' });
        assert.equal(gzip.headers['content-encoding'], 'gzip');
        assert.deepEqual(gzip.body, GZIP_BODY);
      });

      test('returns redirects to the client without following them', async () => {
        const res = await get('/svc/redirect', f.buyer());
        assert.equal(res.status, 302);
        assert.equal(res.headers.location, '/elsewhere');
      });

      test('lets an admin through without API key and without metering', async () => {
        const before = await usage(API_KEYS.call);
        const res = await get('/svc/echo', { 'x-auth-token': 'root-token' });
        assert.equal(res.status, 200);
        assert.equal(
          res.json<{ headers: Record<string, string> }>().headers['x-nick-name'],
          'root',
        );
        assert.equal(await usage(API_KEYS.call), before);
      });
    });

    describe('backend failures', () => {
      test('answers 502 when the backend resets the connection, without metering', async () => {
        const before = await usage(API_KEYS.call);
        const res = await get('/svc/reset', f.buyer());
        assert.equal(res.status, 502);
        assert.deepEqual(res.json(), { error: 'The service is unreachable' });
        assert.equal(await usage(API_KEYS.call), before);
      });

      test('answers 504 when the backend is silent past the timeout, without metering', async () => {
        const before = await usage(API_KEYS.call);
        const res = await get('/svc/hang', f.buyer());
        assert.equal(res.status, 504);
        assert.deepEqual(res.json(), { error: 'The service did not respond in time' });
        assert.equal(await usage(API_KEYS.call), before);
      });

      test('answers 502 when the backend refuses connections', async () => {
        await f.store.addService({
          publicPath: '/down',
          url: 'http://127.0.0.1:1',
          appId: 'app-1',
          methods: ['GET'],
          isContextBroker: false,
        });
        await f.store.bindAdmin('root', '/down');
        await f.proxy.routing.refresh();
        const res = await get('/down/x', { 'x-auth-token': 'root-token' });
        assert.equal(res.status, 502);
        assert.deepEqual(res.json(), { error: 'The service is unreachable' });
      });

      test('aborts the backend request when the client disconnects', async () => {
        const aborted = f.backend.hangAborted;
        const req = httpRequest(`${f.url}/svc/hang`, { headers: f.buyer() });
        req.on('error', () => {});
        req.end();
        await eventually(() => f.backend.received.some((r) => r.url === '/hang'));
        req.destroy();
        await aborted;
      });
    });

    describe('metering', () => {
      test('meters one call per exchange whatever the status, committed before the last byte', async () => {
        const before = await usage(API_KEYS.call);
        for (const path of [
          '/svc/echo',
          '/svc/status/404',
          '/svc/status/500',
          '/svc/chunked/70000',
        ]) {
          await get(path, f.buyer());
        }
        // No waiting: the response ended only after its usage was stored.
        assert.equal(await usage(API_KEYS.call), before + 4);
      });

      test('meters response megabytes exactly: 3,145,728 bytes are 3 megabytes', async () => {
        const before = await usage(API_KEYS.megabyte);
        const sized = await get('/svc/bytes/3145728', f.buyer('megabyte'));
        assert.equal(sized.body.length, 3145728);
        assert.equal(await usage(API_KEYS.megabyte), before + 3);
        const chunked = await get('/svc/chunked/1048576', f.buyer('megabyte'));
        assert.equal(chunked.body.length, 1048576);
        assert.equal(await usage(API_KEYS.megabyte), before + 4);
      });

      test('relays large bodies intact to a client that reads slowly, sized and chunked', async () => {
        // Chunks are freed as soon as the client's socket took them: what arrives must be what
        // the backend sent, however the reads were cut and however long the client paused.
        const sizes = { bytes: 8 * 1048576 + 17, chunked: 8 * 1048576 + 5 };
        for (const [kind, size] of Object.entries(sizes)) {
          const digest = await new Promise<string>((resolve, reject) => {
            const req = httpRequest(
              `${f.url}/svc/${kind}/${size}`,
              { headers: f.buyer('megabyte') },
              (res) => {
                const hash = createHash('sha256');
                let sincePause = 0;
                res.on('data', (chunk: Buffer) => {
                  hash.update(chunk);
                  sincePause += chunk.length;
                  if (sincePause < 512 * 1024) return;
                  sincePause = 0;
                  res.pause();
                  let turns = 50;
                  const later = () => (--turns > 0 ? setImmediate(later) : res.resume());
                  setImmediate(later);
                });
                res.on('end', () => resolve(hash.digest('hex')));
                res.on('error', reject);
              },
            );
            req.on('error', reject);
            req.end();
          });
          assert.equal(digest, sha256OfServedBytes(size), kind);
        }
      });

      test('meters milliseconds from forwarding until the last byte', async () => {
        const before = await usage(API_KEYS.millisecond);
        const started = performance.now();
        await get('/svc/bytes/1000000', f.buyer('millisecond'));
        const clientElapsed = performance.now() - started;
        const metered = (await usage(API_KEYS.millisecond)) - before;
        assert.ok(
          metered > 0 && metered <= clientElapsed,
          `${metered} ms metered, ${clientElapsed} ms seen`,
        );
      });

      test('meters what was sent when the client leaves mid-body', async () => {
        const before = await usage(API_KEYS.megabyte);
        await new Promise<void>((resolve) => {
          const req = httpRequest(
            `${f.url}/svc/chunked/104857600`,
            { headers: f.buyer('megabyte') },
            (res) => {
              let seen = 0;
              res.on('data', (chunk: Buffer) => {
                seen += chunk.length;
                if (seen > 2 * 1024 * 1024) req.destroy();
              });
              res.on('close', () => resolve());
            },
          );
          req.on('error', () => {});
          req.end();
        });
        await eventually(async () => (await usage(API_KEYS.megabyte)) > before);
        const metered = (await usage(API_KEYS.megabyte)) - before;
        assert.ok(metered >= 2 && metered < 100, `metered ${metered} MB`);
      });

      test('does not meter a response the backend broke off', async () => {
        const before = await usage(API_KEYS.call);
        await assert.rejects(get('/svc/slow-body', f.buyer()));
        assert.equal(await usage(API_KEYS.call), before);
      });
    });

    describe('routing state', () => {
      test('serves a buy added to the store within 1 second, without a restart', async () => {
        await f.store.addBuy({
          apiKey: 'key-late',
          publicPath: '/svc',
          orderId: 'o',
          productId: 'p',
          customer: 'bob',
          unit: 'call',
          recordType: 'callusage',
        });
        const added = performance.now();
        await eventually(
          async () =>
            (await get('/svc/echo', { 'x-auth-token': 'bob-token', 'x-api-key': 'key-late' }))
              .status === 200,
          1000,
        );
        assert.ok(performance.now() - added < 1000);
      });
    });
  });
}
