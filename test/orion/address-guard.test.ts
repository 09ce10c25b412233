import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultConfig } from '../../config.ts';
import { toBlockList } from '../../src/http/cidr.ts';
import { guardedLookup, isDeniedUrl } from '../../src/orion/address-guard.ts';
import { request } from '../support/client.ts';
import { FakeOrion } from '../support/orion.ts';
import { startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

const deny = toBlockList(defaultConfig().resources.notification_deny);

describe('notification URL guard', () => {
  test('denies loopback, private and link-local addresses by default', () => {
    for (const url of [
      'http://127.0.0.1:6379/',
      'http://localhost/x',
      'http://10.1.2.3/',
      'http://192.168.1.1/',
      'http://172.20.0.1/',
      'http://169.254.169.254/latest',
      'http://[::1]:8080/',
      'http://[::ffff:127.0.0.1]/',
      'not a url',
    ]) {
      assert.equal(isDeniedUrl(url, deny), true, url);
    }
    for (const url of [
      'http://93.184.216.34/',
      'https://buyer.example.com/notify',
      'http://[2001:db8::1]/',
    ]) {
      assert.equal(isDeniedUrl(url, deny), false, url);
    }
  });

  test('refuses a host name that resolves to a denied address', async () => {
    const lookup = guardedLookup(deny);
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      lookup('localhost', {}, (err) => resolve(err)),
    );
    assert.equal(error?.code, 'EADDRNOTALLOWED');
  });
});

describe('subscriptions to private addresses', () => {
  const [sqlite] = storeBackends();
  test('are refused with 422 before reaching Orion', async () => {
    const orion = new FakeOrion();
    await orion.start();
    const f = await startProxyFixture(sqlite?.database() ?? assert.fail(), {
      ACCOUNTING_PROXY_CONTEXT_BROKER: 'true',
    });
    try {
      await f.store.addService({
        publicPath: '/orion',
        url: orion.url,
        appId: 'app-1',
        methods: ['POST'],
        isContextBroker: true,
      });
      await f.store.addBuy({
        apiKey: 'o-key',
        publicPath: '/orion',
        orderId: 'o',
        productId: 'p',
        customer: 'alice',
        unit: 'call',
        recordType: 'callusage',
      });
      await f.proxy.routing.refresh();
      const res = await request(`${f.url}/orion/v2/subscriptions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-auth-token': 'alice-token',
          'x-api-key': 'o-key',
        },
        body: JSON.stringify({
          subject: { entities: [{ idPattern: '.*' }] },
          notification: { http: { url: 'http://169.254.169.254/latest/meta-data' } },
        }),
      });
      assert.equal(res.status, 422);
      assert.match(res.json<{ error: string }>().error, /^Notification URL not allowed/);
      assert.equal(orion.subscriptions.size, 0);
    } finally {
      await f.close();
      await orion.stop();
    }
  });
});
