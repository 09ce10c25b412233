/**
 * Hostile input to the adapter API: generated JSON-RPC messages (valid credentials mixed with
 * garbage, every method, batches, notifications, wrong types) and raw bodies over /http, and the
 * same messages over one WebSocket. Never a crash, never an internal error, never an HTTP 5xx; the
 * adapter API still serves a valid call afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { sessClient, wsTransport } from '../support/adapter-client.ts';
import { cli } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';

const RUNS = 1500;
const METHODS = [
  'authClient',
  'startSession',
  'updateSession',
  'stopSession',
  'serviceReady',
  'getEndpoint',
  'setProductConfig',
  'subscribe',
  'unsubscribe',
  'nothing',
].map((name) => `sess_${name}`);
// What the standard and go-ethereum answer malformed input with, and -32000 for a method's own.
const EXPECTED_CODES = new Set([-32700, -32600, -32601, -32602, -32000]);

/** Every error of one answer text (a response, a batch of them, or nothing). */
function errorsOf(text: string): { code: number; message: string }[] {
  if (text === '') return [];
  const parsed = JSON.parse(text) as unknown;
  const answers = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
  return answers.flatMap((a) => {
    assert.equal(a.jsonrpc, '2.0');
    return a.error ? [a.error as { code: number; message: string }] : [];
  });
}

const assertNoInternalError = (text: string) => {
  for (const error of errorsOf(text)) {
    assert.ok(EXPECTED_CODES.has(error.code), JSON.stringify(error));
    assert.ok(!error.message.includes('internal server error'), error.message);
  }
};

for (const backend of storeBackends()) {
  describe(`adapter API fuzz on ${backend.name}`, () => {
    let f: ProxyFixture;
    let base: string;
    let credentials: { product: string; password: string };
    let clientKey = '';
    let clientPassword = '';

    before(async () => {
      const database = backend.database();
      f = await startProxyFixture(database, {
        ACCOUNTING_PROXY_ADAPTER_PORT: String(await freePort()),
      });
      base = `http://127.0.0.1:${f.proxy.adapterPort}`;
      const env = databaseEnv(database);
      await cli(env, 'addService', '--adapter', '/vpn', 'vpn.example.com:1194', APP_ID);
      credentials = JSON.parse((await cli(env, 'addProduct', '/vpn', '--json')).stdout);
      await f.store.addBuy({
        apiKey: 'fuzz-key',
        publicPath: '/vpn',
        orderId: 'o',
        productId: 'p',
        customer: 'c',
        unit: 'megabyte',
        recordType: 'data',
        access: { clientKey: 'fuzz-client', clientPassword: 'fuzz-password' },
      });
      clientKey = 'fuzz-client';
      clientPassword = 'fuzz-password';
    });
    after(() => f.close());

    const value = () =>
      fc.oneof(
        fc.constant(credentials.product),
        fc.constant(credentials.password),
        fc.constant(clientKey),
        fc.constant(clientPassword),
        fc.constant('connChange'),
        fc.nat(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
        fc.jsonValue({ maxDepth: 3 }),
      );
    const message = () =>
      fc.record(
        {
          jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue({ maxDepth: 1 })),
          id: fc.oneof(fc.nat(), fc.string(), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
          method: fc.oneof(fc.constantFrom(...METHODS), fc.string(), fc.jsonValue({ maxDepth: 1 })),
          params: fc.oneof(
            fc.array(value(), { maxLength: 7 }),
            fc
              .tuple(fc.constant(credentials.product), fc.constant(credentials.password))
              .chain((head) =>
                fc.array(value(), { maxLength: 4 }).map((rest) => [...head, ...rest]),
              ),
            fc.jsonValue({ maxDepth: 2 }),
          ),
        },
        { requiredKeys: [] },
      );
    const body = () =>
      fc.oneof(
        message().map((m) => JSON.stringify(m)),
        fc.array(message(), { maxLength: 5 }).map((m) => JSON.stringify(m)),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
        fc.string({ maxLength: 200 }),
      );

    test(`${RUNS} generated bodies over /http`, async () => {
      await fc.assert(
        fc.asyncProperty(body(), async (text) => {
          const response = await fetch(`${base}/http`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: text,
          });
          assert.equal(response.status, 200, text);
          assertNoInternalError(await response.text());
        }),
        { numRuns: RUNS },
      );
    });

    test(`${RUNS / 3} generated messages on one WebSocket, then a valid call on it`, async () => {
      const ws = await wsTransport(base);
      const answers: string[] = [];
      ws.socket.on('message', (data) => answers.push(data.toString()));
      await fc.assert(
        fc.asyncProperty(body(), async (text) => {
          ws.socket.send(text);
        }),
        { numRuns: RUNS / 3 },
      );
      const sess = sessClient(ws, credentials.product, credentials.password);
      // (Not authClient: the fuzz's wrong passwords have the client key's sign-ins limited by now.)
      assert.deepEqual(await sess.serviceReady(clientKey), { result: null });
      for (const text of answers) {
        // Notifications of subscriptions the fuzz made are no answers to check.
        if (!text.includes('"sess_subscription"')) assertNoInternalError(text);
      }
      await ws.close();
    });
  });
}
