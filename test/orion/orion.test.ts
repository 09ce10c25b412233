import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { FakeOrion } from '../support/orion.ts';
import { type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A buyer's notification endpoint: records what it gets, answers `status`. */
async function startSubscriber() {
  const received: Received[] = [];
  const state = { status: 200 };
  const server: TestServer = await listenOnLoopback((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(state.status, { 'content-length': 2 }).end('ok');
    });
  });
  return { ...server, received, state };
}

const json = {
  'content-type': 'application/json',
  'fiware-service': 'smartcity',
  'fiware-servicepath': '/rooms',
};

for (const backend of storeBackends()) {
  describe(`Orion support on ${backend.name}`, () => {
    let f: ProxyFixture;
    let orion: FakeOrion;
    let subscriber: Awaited<ReturnType<typeof startSubscriber>>;
    before(async () => {
      orion = new FakeOrion();
      await orion.start();
      subscriber = await startSubscriber();
      f = await startProxyFixture(backend.database(), {
        ACCOUNTING_PROXY_CONTEXT_BROKER: 'true',
        ACCOUNTING_PROXY_NOTIFICATION_DENY: 'none',
        ACCOUNTING_PROXY_BACKEND_TIMEOUT: '1000',
      });
      await f.store.addService({
        publicPath: '/orion',
        url: orion.url,
        appId: 'app-1',
        methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
        isContextBroker: true,
      });
      await f.store.bindAdmin('root', '/orion');
      for (const [apiKey, customer, unit] of [
        ['o-call', 'alice', 'call'],
        ['o-mb', 'alice', 'megabyte'],
        ['o-bob', 'bob', 'call'],
      ] as const) {
        await f.store.addBuy({
          apiKey,
          publicPath: '/orion',
          orderId: apiKey,
          productId: 'p',
          customer,
          unit,
          recordType: `${unit}usage`,
        });
      }
      await f.proxy.routing.refresh();
    });
    after(async () => {
      await f.close();
      await Promise.all([orion.stop(), subscriber.close()]);
    });

    const buyer = (apiKey = 'o-call', token = 'alice-token') => ({
      ...json,
      'x-auth-token': token,
      'x-api-key': apiKey,
    });
    const usage = async (apiKey: string) => (await f.store.getUsage(apiKey))?.pending ?? 0;
    const callbackPattern = () =>
      new RegExp(
        `^http://127\\.0\\.0\\.1:${f.proxy.orion?.listenerPort}/subscriptions/[0-9a-f]{32}$`,
      );
    const subscribeV2 = async (apiKey = 'o-call', url = `${subscriber.url}/notify`) => {
      const res = await request(`${f.url}/orion/v2/subscriptions`, {
        method: 'POST',
        headers: buyer(apiKey),
        body: JSON.stringify({
          description: 'rooms',
          subject: {
            entities: [{ idPattern: '.*', type: 'Room' }],
            condition: { attrs: ['temperature'] },
          },
          notification: { http: { url }, attrs: ['temperature'], attrsFormat: 'keyValues' },
          throttling: 5,
        }),
      });
      assert.equal(res.status, 201, res.body.toString());
      const id = String(res.headers.location).split('/').at(-1) ?? '';
      return { res, id };
    };

    test('a v2 subscription notifies the buyer through the proxy, each notification metered once', async () => {
      const before = await usage('o-call');
      const { res, id } = await subscribeV2();
      assert.match(String(res.headers.location), /^\/v2\/subscriptions\/[0-9a-f]{24}$/);
      const stored = orion.subscriptions.get(id);
      assert.match(orion.target(id) ?? '', callbackPattern());
      const notification = stored?.body.notification as Record<string, unknown>;
      assert.deepEqual(notification.attrs, ['temperature'], 'attrs kept');
      assert.equal(notification.attrsFormat, 'keyValues', 'attrsFormat kept');
      assert.equal(stored?.body.throttling, 5);
      assert.equal(
        (await f.store.getSubscription(id))?.notificationUrl,
        `${subscriber.url}/notify`,
      );
      const creation = await usage('o-call');
      assert.equal(creation, before + 1, 'the subscription request is an exchange like any other');

      const seen = subscriber.received.length;
      for (let i = 0; i < 3; i++) assert.equal((await orion.notify(id)).status, 200);
      assert.equal(subscriber.received.length, seen + 3);
      const delivered = subscriber.received.at(-1);
      assert.deepEqual(JSON.parse(delivered?.body ?? ''), {
        subscriptionId: id,
        data: [{ id: 'Room1', type: 'Room', temperature: { value: 23, type: 'Float' } }],
      });
      assert.equal(delivered?.headers['fiware-service'], 'smartcity');
      assert.equal(await usage('o-call'), creation + 3);
    });

    test('a megabyte buy pays the exact bytes of each notification', async () => {
      const { id } = await subscribeV2('o-mb');
      const before = await usage('o-mb');
      const data = [{ id: 'Big', type: 'Blob', payload: 'x'.repeat(50_000) }];
      await orion.notify(id, data);
      await orion.notify(id, data);
      const bytes = FakeOrion.notificationBytes(id, 'v2', data);
      assert.equal(await usage('o-mb'), before + (2 * bytes) / 1048576);
    });

    test('a v2 update of the notification URL keeps notifications on the proxy', async () => {
      const { id } = await subscribeV2();
      const callback = orion.target(id);
      const patched = await request(`${f.url}/orion/v2/subscriptions/${id}`, {
        method: 'PATCH',
        headers: buyer(),
        body: JSON.stringify({
          notification: { http: { url: `${subscriber.url}/elsewhere` }, attrs: ['humidity'] },
        }),
      });
      assert.equal(patched.status, 204);
      assert.equal(orion.target(id), callback, 'Orion still notifies the proxy');
      assert.equal(
        (await f.store.getSubscription(id))?.notificationUrl,
        `${subscriber.url}/elsewhere`,
      );
      const before = await usage('o-call');
      await orion.notify(id);
      assert.equal(subscriber.received.at(-1)?.headers['content-type'], 'application/json');
      assert.equal(await usage('o-call'), before + 1);
      // a PATCH without a URL passes untouched (the original crashed on it)
      const attrsOnly = await request(`${f.url}/orion/v2/subscriptions/${id}`, {
        method: 'PATCH',
        headers: buyer(),
        body: JSON.stringify({ throttling: 10 }),
      });
      assert.equal(attrsOnly.status, 204);
      assert.equal(orion.target(id), callback);
    });

    test('a deleted subscription is gone at Orion and at the proxy', async () => {
      const { id } = await subscribeV2();
      const deleted = await request(`${f.url}/orion/v2/subscriptions/${id}`, {
        method: 'DELETE',
        headers: buyer(),
      });
      assert.equal(deleted.status, 204);
      assert.equal(orion.subscriptions.has(id), false);
      assert.equal(await f.store.getSubscription(id), undefined);
    });

    test("a buyer cannot update or delete another buyer's or an admin's subscription", async () => {
      const { id } = await subscribeV2();
      for (const method of ['PATCH', 'DELETE']) {
        const res = await request(`${f.url}/orion/v2/subscriptions/${id}`, {
          method,
          headers: buyer('o-bob', 'bob-token'),
          body: JSON.stringify({ notification: { http: { url: 'http://bob.example/steal' } } }),
        });
        assert.equal(res.status, 403);
        assert.deepEqual(res.json(), { error: 'This subscription does not belong to your buy' });
      }
      assert.match(orion.target(id) ?? '', callbackPattern());
      assert.ok(orion.subscriptions.has(id));
    });

    test('admin subscriptions go to Orion untouched and unmetered', async () => {
      const res = await request(`${f.url}/orion/v2/subscriptions`, {
        method: 'POST',
        headers: { ...json, 'x-auth-token': 'root-token' },
        body: JSON.stringify({
          subject: { entities: [{ idPattern: '.*' }] },
          notification: { http: { url: 'http://admin.example/n' } },
        }),
      });
      assert.equal(res.status, 201);
      const id = String(res.headers.location).split('/').at(-1) ?? '';
      assert.equal(orion.target(id), 'http://admin.example/n');
      assert.equal(await f.store.getSubscription(id), undefined);
      const del = await request(`${f.url}/orion/v2/subscriptions/${id}`, {
        method: 'DELETE',
        headers: buyer(),
      });
      assert.equal(del.status, 403, 'a buyer cannot delete it either');
    });

    test('the listener refuses unknown subscriptions and wrong secrets without metering', async () => {
      const { id } = await subscribeV2();
      const listener = `http://127.0.0.1:${f.proxy.orion?.listenerPort}`;
      const before = await usage('o-call');
      const unknown = await request(`${listener}/subscriptions/${'0'.repeat(32)}`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ subscriptionId: 'nope', data: [] }),
      });
      assert.equal(unknown.status, 404);
      assert.deepEqual(unknown.json(), { error: 'Unknown subscription' });
      const forged = await request(`${listener}/subscriptions/${'0'.repeat(32)}`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ subscriptionId: id, data: [] }),
      });
      assert.equal(forged.status, 404);
      const garbage = await request(`${listener}/subscriptions/x`, {
        method: 'POST',
        headers: json,
        body: 'not json',
      });
      assert.equal(garbage.status, 400);
      assert.equal(await usage('o-call'), before);
    });

    test('a subscriber that is down gets Orion a 504 and costs nothing', async () => {
      const { id } = await subscribeV2('o-call', 'http://127.0.0.1:1/notify');
      const before = await usage('o-call');
      assert.equal((await orion.notify(id)).status, 504);
      assert.equal(await usage('o-call'), before);
    });

    test('NGSI v1 subscribe, notify, update and unsubscribe go through the proxy', async () => {
      const created = await request(`${f.url}/orion/v1/subscribeContext`, {
        method: 'POST',
        headers: buyer(),
        body: JSON.stringify({
          entities: [{ type: 'Room', isPattern: 'true', id: '.*' }],
          attributes: ['temperature'],
          reference: `${subscriber.url}/v1`,
          duration: 'P1M',
          notifyConditions: [{ type: 'ONCHANGE', condValues: ['pressure'] }],
        }),
      });
      assert.equal(created.status, 200);
      const id = created.json<{ subscribeResponse: { subscriptionId: string } }>().subscribeResponse
        .subscriptionId;
      assert.match(orion.target(id) ?? '', callbackPattern());
      assert.deepEqual(orion.subscriptions.get(id)?.body.notifyConditions, [
        { type: 'ONCHANGE', condValues: ['pressure'] },
      ]);
      const before = await usage('o-call');
      assert.equal((await orion.notify(id)).status, 200);
      assert.equal(JSON.parse(subscriber.received.at(-1)?.body ?? '').originator, 'localhost');
      assert.equal(await usage('o-call'), before + 1);

      const updated = await request(`${f.url}/orion/v1/updateContextSubscription`, {
        method: 'POST',
        headers: buyer(),
        body: JSON.stringify({ subscriptionId: id, reference: `${subscriber.url}/v1b` }),
      });
      assert.equal(updated.status, 200);
      assert.match(orion.target(id) ?? '', callbackPattern());
      assert.equal((await f.store.getSubscription(id))?.notificationUrl, `${subscriber.url}/v1b`);

      const removed = await request(`${f.url}/orion/v1/unsubscribeContext`, {
        method: 'POST',
        headers: buyer(),
        body: JSON.stringify({ subscriptionId: id }),
      });
      assert.equal(removed.status, 200);
      assert.equal(orion.subscriptions.has(id), false);
      assert.equal(await f.store.getSubscription(id), undefined);
    });

    test('deleteBuy cancels every subscription of the buy at Orion', async () => {
      const bought = await request(`${f.url}/accounting_proxy/newBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: 'o-end',
          productId: 'p',
          customer: 'alice',
          productSpecification: { url: `${f.url}/orion`, unit: 'call', recordType: 'callusage' },
        }),
      });
      const apiKey = bought.json<{ 'API-KEY': string }>()['API-KEY'];
      const ids = [(await subscribeV2(apiKey)).id, (await subscribeV2(apiKey)).id];
      const v1 = await request(`${f.url}/orion/v1/subscribeContext`, {
        method: 'POST',
        headers: buyer(apiKey),
        body: JSON.stringify({ entities: [{ id: 'Room1' }], reference: `${subscriber.url}/v1` }),
      });
      ids.push(
        v1.json<{ subscribeResponse: { subscriptionId: string } }>().subscribeResponse
          .subscriptionId,
      );
      assert.ok(ids.every((id) => orion.subscriptions.has(id)));
      const deleted = await request(`${f.url}/accounting_proxy/deleteBuy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: 'o-end',
          productId: 'p',
          customer: 'alice',
          productSpecification: { url: `${f.url}/orion` },
        }),
      });
      assert.equal(deleted.status, 204);
      assert.deepEqual(
        ids.filter((id) => orion.subscriptions.has(id)),
        [],
        'no subscription of the buy is left at Orion',
      );
      assert.equal(f.proxy.orion?.canceller.outstanding, 0);
      await eventually(async () => (await f.store.listSubscriptions(apiKey)).length === 0);
    });
  });
}
