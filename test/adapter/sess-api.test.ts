/**
 * The adapter API end to end, on both stores: an adapter service registered with the CLI, bought
 * through the admin API as the marketplace buys, used by a replayed dapp-openvpn over `/ws` and
 * `/http`, its usage reported to the TMF635 test server exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../config.ts';
import {
  httpTransport,
  type RpcAnswer,
  type SessClient,
  sessClient,
  sessError,
  wsTransport,
} from '../support/adapter-client.ts';
import { addAdapterProduct } from '../support/adapter-service.ts';
import { cli } from '../support/cli.ts';
import { deleteBuy, eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { keyrockUser } from '../support/idm.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { askRedis } from '../support/redis-server.ts';
import { lockSqliteFile } from '../support/sqlite-lock.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

const MB = 1024 * 1024;
const ERRORS = {
  accessDenied: sessError('access denied', 1236224),
  channelNotFound: sessError('channel not found', 1236225),
  badClientPassword: sessError('bad client password', 1236226),
  internal: sessError('internal server error', 1236227),
  nonActive: sessError('non-active channel', 1236228),
  sessionNotFound: sessError('session not found', 1236229),
  badProductConfig: sessError('bad product config', 1236231),
};
const NULL: RpcAnswer = { result: null };

interface Access {
  clientKey: string;
  password: string;
  serviceEndpointAddress: string;
  additionalParams: Record<string, string>;
}

/** dapp-openvpn's calls for one client: login, connect, traffic every tick, disconnect. */
async function replaySessions(sess: SessClient, access: Access, totals: number[][]) {
  const answers: RpcAnswer[] = [];
  for (const session of totals) {
    answers.push(await sess.authClient(access.clientKey, access.password));
    answers.push(await sess.startSession(access.clientKey, '10.8.0.6', 51234));
    for (const units of session) {
      answers.push(await sess.updateSession(access.clientKey, units));
    }
    answers.push(await sess.stopSession(access.clientKey));
  }
  return answers;
}

// Two sessions: a duplicated update in the first (its retry after a lost answer), fractions of a
// megabyte everywhere.
const TOTALS = [
  [1000, 250_000, 250_000, 3 * MB + 5, 7 * MB + 123_457],
  [0, 2 * MB + 1, 5 * MB + 3],
];
// Each session's last total: what the adapter saw pass.
const billedMegabytes = (7 * MB + 123_457 + 5 * MB + 3) / MB;

for (const backend of storeBackends()) {
  describe(`adapter API on ${backend.name}`, () => {
    let usage: FakeUsageApi;
    let f: ProxyFixture;
    let database: Config['database'];
    let adapterUrl: string;
    let product: { product: string; password: string };
    let buyers = 0;

    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      database = backend.database();
      f = await startProxyFixture(database, {
        ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
        ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
        ACCOUNTING_PROXY_ADAPTER_PORT: String(await freePort()),
      });
      adapterUrl = `http://127.0.0.1:${f.proxy.adapterPort}`;
      const env = databaseEnv(database);
      product = await addAdapterProduct(
        env,
        { publicPath: '/vpn', url: 'openvpn://127.0.0.1:1194', appId: APP_ID },
        '--config',
        'proto=udp',
      );
      await f.store.addMarketplaceKey(usage.token, new Date());
    });
    after(async () => {
      await f.close();
      await usage.stop();
    });

    /** A new customer buys the VPN through the marketplace; answers what `keys` gives them. */
    async function buy(unit = 'megabyte') {
      const customer = `buyer-${++buyers}`;
      f.idm.users.set(`${customer}-token`, keyrockUser(customer, APP_ID));
      const identity = { orderId: `o-${customer}`, productId: `p-${customer}`, customer };
      usage.contract(identity.orderId, identity.productId, customer, [unit]);
      const bought = await request(`${f.url}/accounting_proxy/newBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...identity,
          productSpecification: { url: `${f.url}/vpn`, unit, recordType: 'data' },
        }),
      });
      assert.equal(bought.status, 201, bought.body.toString());
      const keys = await request(`${f.url}/accounting_proxy/keys`, {
        headers: { authorization: `Bearer ${customer}-token` },
      });
      const [entry] = keys.json<{ apiKey: string; access: Access }[]>();
      assert.ok(entry?.access, keys.body.toString());
      return { ...identity, publicPath: '/vpn', apiKey: entry.apiKey, access: entry.access };
    }

    const reported = async (orderId: string, productId: string) => {
      const result = await f.proxy.usage.runNow();
      assert.deepEqual(result.failures, []);
      assert.deepEqual(usage.rejected(), []);
      return usage.accepted(orderId, productId).sum;
    };

    test('dapp-openvpn over /ws: config, connChange start, serviceReady, sessions, usage reported once', async () => {
      const ws = await wsTransport(adapterUrl);
      const sess = sessClient(ws, product.product, product.password);
      assert.deepEqual(await sess.setProductConfig({ proto: 'udp', port: '1194' }), NULL);
      const subscribed = await sess.subscribe();
      assert.match(String(subscribed.result), /^0x[0-9a-f]+$/);

      const bought = await buy();
      const start = await ws.notification((n) => n.channel === bought.access.clientKey);
      assert.deepEqual(start, {
        subscription: subscribed.result,
        channel: bought.access.clientKey,
        command: 'start',
      });
      assert.deepEqual(await sess.serviceReady(bought.access.clientKey), NULL);
      assert.deepEqual(bought.access.additionalParams, { proto: 'udp', port: '1194' });
      assert.equal(bought.access.serviceEndpointAddress, 'openvpn://127.0.0.1:1194');
      assert.match(bought.access.password, /^[A-Za-z0-9_-]{32}$/);

      const answers = await replaySessions(sess, bought.access, TOTALS);
      const offering = answers[1]?.result as Record<string, unknown>;
      assert.equal(offering.serviceName, '/vpn');
      assert.equal(offering.unitName, 'megabyte');
      assert.deepEqual(offering.additionalParams, { proto: 'udp', port: '1194' });
      assert.deepEqual(
        answers.filter((_, i) => i !== 1 && i !== 9),
        Array(answers.length - 2).fill(NULL),
      );

      assert.equal(await reported(bought.orderId, bought.productId), billedMegabytes);
      // Nothing is sent twice: the next cycle has nothing for this buy.
      assert.equal(await reported(bought.orderId, bought.productId), billedMegabytes);
      assert.deepEqual(usage.accepted(bought.orderId, bought.productId).numbers, [0]);

      const endpoint = await sess.getEndpoint(bought.access.clientKey);
      assert.deepEqual(endpoint.result, {
        id: bought.access.clientKey,
        template: product.product,
        channel: bought.access.clientKey,
        hash: '',
        RawMsg: '',
        paymentReceiverAddress: null,
        serviceEndpointAddress: 'openvpn://127.0.0.1:1194',
        username: bought.access.clientKey,
        password: bought.access.password,
        // A Go map's JSON: keys sorted.
        additionalParams: Buffer.from('{"port":"1194","proto":"udp"}').toString('base64'),
        countryStatus: null,
      });
      await ws.close();
    });

    test('/http answers the same sequence exactly as /ws does', async () => {
      const [overWs, overHttp] = [await buy(), await buy()];
      const ws = await wsTransport(adapterUrl);
      const viaWs = await replaySessions(
        sessClient(ws, product.product, product.password),
        overWs.access,
        TOTALS,
      );
      await ws.close();
      const http = sessClient(httpTransport(adapterUrl), product.product, product.password);
      const viaHttp = await replaySessions(http, overHttp.access, TOTALS);
      assert.deepEqual(viaHttp, viaWs);
      assert.deepEqual(await http.subscribe(), {
        error: { code: -32000, message: 'notifications not supported' },
      });
      await f.proxy.usage.runNow();
      assert.equal(usage.accepted(overHttp.orderId, overHttp.productId).sum, billedMegabytes);
      assert.equal(usage.accepted(overWs.orderId, overWs.productId).sum, billedMegabytes);
    });

    test('deleteBuy mid-session: stop, the last update metered and reported, then non-active channel', async () => {
      const ws = await wsTransport(adapterUrl);
      const sess = sessClient(ws, product.product, product.password);
      await sess.subscribe();
      const bought = await buy();
      const key = bought.access.clientKey;
      await ws.notification((n) => n.channel === key && n.command === 'start');
      await sess.serviceReady(key);
      await sess.startSession(key, '10.8.0.7', 40000);
      assert.deepEqual(await sess.updateSession(key, 2 * MB), NULL);

      const deleted = await deleteBuy(f.url, bought);
      assert.equal(deleted.status, 204);
      await ws.notification((n) => n.channel === key && n.command === 'stop');
      // The adapter's next tick: its traffic since the last one is metered, and it is told to stop.
      assert.deepEqual(await sess.updateSession(key, 3 * MB + 512), ERRORS.nonActive, 'update');
      assert.deepEqual(
        await sess.authClient(key, bought.access.password),
        ERRORS.nonActive,
        'auth',
      );
      assert.deepEqual(await sess.startSession(key, '10.8.0.7', 40000), ERRORS.nonActive, 'start');
      assert.deepEqual(await sess.stopSession(key), NULL, 'stop');

      assert.equal(await reported(bought.orderId, bought.productId), (3 * MB + 512) / MB);
      // Reported, the buy is gone; the channel stays one that is not active.
      assert.deepEqual(await sess.authClient(key, bought.access.password), ERRORS.nonActive);
      assert.deepEqual(await sess.updateSession(key, 4 * MB), ERRORS.nonActive);
      assert.deepEqual(await sess.stopSession(key), NULL);
      assert.equal(await reported(bought.orderId, bought.productId), (3 * MB + 512) / MB);
      await ws.close();
    });

    test('every error with its code and text', async () => {
      const bought = await buy();
      const key = bought.access.clientKey;
      const http = httpTransport(adapterUrl);
      const sess = sessClient(http, product.product, product.password);
      const wrongProduct = sessClient(http, product.product, 'not-the-password');
      const unknownProduct = sessClient(
        http,
        '2b1f3c4d-0000-4000-8000-000000000000',
        product.password,
      );
      assert.deepEqual(
        await wrongProduct.authClient(key, bought.access.password),
        ERRORS.accessDenied,
      );
      assert.deepEqual(await unknownProduct.serviceReady(key), ERRORS.accessDenied);
      assert.deepEqual(await wrongProduct.setProductConfig({ a: 'b' }), ERRORS.accessDenied);
      assert.deepEqual(await sess.authClient('no-such-client', 'x'), ERRORS.channelNotFound);
      assert.deepEqual(await sess.startSession('no-such-client', '', 0), ERRORS.channelNotFound);
      assert.deepEqual(await sess.updateSession(key, 10), ERRORS.sessionNotFound);
      assert.deepEqual(await sess.setProductConfig({}), ERRORS.badProductConfig);
      assert.deepEqual(await sess.authClient(key, 'wrong'), ERRORS.badClientPassword);
      assert.deepEqual(await sess.authClient(key, bought.access.password), NULL);

      // Positional parameters decoded as go-ethereum decodes them.
      assert.deepEqual(
        await http.call('sess_updateSession', [product.product, product.password, key, -1]),
        {
          error: {
            code: -32602,
            message:
              'invalid argument 3: json: cannot unmarshal number -1 into Go value of type uint64',
          },
        },
      );
      assert.deepEqual(await http.call('sess_stopSession', [product.product, product.password]), {
        error: { code: -32602, message: 'missing value for required argument 2' },
      });
      assert.deepEqual(await http.call('sess_nothing', []), {
        error: { code: -32601, message: 'the method sess_nothing does not exist/is not available' },
      });

      // Another service's product sees none of this service's buys.
      const env = databaseEnv(database);
      await cli(env, 'addService', '--adapter', '/proxy2', 'socks5://127.0.0.1:1080', APP_ID);
      const other = JSON.parse((await cli(env, 'addProduct', '/proxy2', '--json')).stdout);
      const foreign = sessClient(http, other.product, other.password);
      assert.deepEqual(
        await foreign.authClient(key, bought.access.password),
        ERRORS.channelNotFound,
      );
    });

    test('failed sign-ins are limited per client key', async () => {
      const bought = await buy();
      const sess = sessClient(httpTransport(adapterUrl), product.product, product.password);
      for (let attempt = 0; attempt < 5; attempt++) {
        assert.deepEqual(
          await sess.authClient(bought.access.clientKey, `guess-${attempt}`),
          ERRORS.badClientPassword,
        );
      }
      // The right password too, until the window ends.
      assert.deepEqual(
        await sess.authClient(bought.access.clientKey, bought.access.password),
        ERRORS.badClientPassword,
      );
    });

    test('a call the store cannot serve answers internal server error, and the next one works', async () => {
      const bought = await buy();
      const key = bought.access.clientKey;
      const sess = sessClient(httpTransport(adapterUrl), product.product, product.password);
      await sess.startSession(key, '', 0);
      await sess.updateSession(key, MB);
      // Writes refused: another process holds the SQLite file; Redis has no replica to write to.
      const redis = backend.redis();
      const lock = redis ? undefined : await lockSqliteFile(database.name);
      if (redis) await askRedis(redis.port, 'CONFIG', 'SET', 'min-replicas-to-write', '1');
      try {
        assert.deepEqual(await sess.updateSession(key, 2 * MB), ERRORS.internal);
      } finally {
        await lock?.release();
        if (redis) await askRedis(redis.port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
      }
      await eventually(
        async () => (await sess.updateSession(key, 2 * MB)).error === undefined,
        10_000,
      );
      assert.equal(await reported(bought.orderId, bought.productId), 2);
    });

    test('buying again keeps the client credentials, as it keeps the API key', async () => {
      const bought = await buy();
      const again = await request(`${f.url}/accounting_proxy/newBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: bought.orderId,
          productId: bought.productId,
          customer: bought.customer,
          productSpecification: { url: `${f.url}/vpn`, unit: 'megabyte', recordType: 'data' },
        }),
      });
      assert.deepEqual(again.json(), { 'API-KEY': bought.apiKey });
      const keys = await request(`${f.url}/accounting_proxy/keys`, {
        headers: { authorization: `Bearer ${bought.customer}-token` },
      });
      assert.deepEqual(keys.json<{ access: Access }[]>()[0]?.access, bought.access);
    });

    test('the proxy path refuses an adapter service with 404', async () => {
      const bought = await buy();
      const answer = await request(`${f.url}/vpn/anything`, {
        headers: { 'x-auth-token': `${bought.customer}-token`, 'x-api-key': bought.apiKey },
      });
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.json(), {
        error:
          '/vpn is an adapter service: its buyers connect to the service itself, not through this proxy',
      });
    });
  });
}
