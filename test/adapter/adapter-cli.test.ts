/** The CLI's side of adapter services: addService --adapter and addProduct, on both stores. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifyPassword } from '../../src/adapter/secrets.ts';
import { openStore } from '../../src/store/open.ts';
import { cli } from '../support/cli.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';

for (const backend of storeBackends()) {
  describe(`adapter CLI on ${backend.name}`, () => {
    const setUp = () => {
      const database = backend.database();
      const env = databaseEnv(database);
      const run = (...argv: string[]) => cli(env, ...argv);
      const refused = async (message: string, ...argv: string[]) => {
        const result = await run(...argv);
        assert.equal(result.code, 1, result.stdout);
        assert.equal(result.stderr, `error: ${message}\n`);
      };
      return { database, run, refused };
    };

    test('registers an adapter service, shown without methods', async () => {
      const { run, refused } = setUp();
      const added = await run(
        'addService',
        '--adapter',
        '/vpn',
        'openvpn://vpn.example.com:1194',
        'app',
      );
      assert.equal(added.stdout, 'Service successfully added.\n');
      const shown = await run('getService', '--json');
      assert.deepEqual(JSON.parse(shown.stdout), [
        {
          publicPath: '/vpn',
          url: 'openvpn://vpn.example.com:1194',
          appId: 'app',
          methods: [],
          isContextBroker: false,
          adapter: true,
        },
      ]);
      assert.match(
        (await run('getService')).stdout,
        /\/vpn +openvpn:\/\/vpn\.example\.com:1194 +app +no +\(adapter API\)/,
      );
      await refused(
        'An adapter service takes no HTTP methods and cannot be a Context Broker.',
        'addService',
        '--adapter',
        '/vpn2',
        'vpn.example.com:1194',
        'app',
        'GET',
      );
      await refused(
        'Invalid endpoint address: "vpn example" (a URI or host:port without spaces is expected).',
        'addService',
        '--adapter',
        '/vpn2',
        'vpn example',
        'app',
      );
      await refused(
        "missing required argument 'method'",
        'addService',
        '/web',
        'http://a:1',
        'app',
      );
    });

    test('addProduct prints the credentials once and stores only a hash of the password', async () => {
      const { database, run, refused } = setUp();
      await run('addService', '--adapter', '/vpn', 'vpn.example.com:1194', 'app');
      await run('addService', '/web', 'http://localhost:5000', 'app', 'GET');
      await refused('No service registered for public path "/nothing".', 'addProduct', '/nothing');
      await refused(
        'Service "/web" is not an adapter service (register it with addService --adapter).',
        'addProduct',
        '/web',
      );
      await refused(
        'Invalid --config entry "novalue": key=value is expected.',
        'addProduct',
        '/vpn',
        '--config',
        'novalue',
      );

      const created = await run('addProduct', '/vpn', '--config', 'proto=udp', 'dns=10.8.0.1=x');
      assert.equal(created.code, 0, created.stderr);
      const [, productId, password] =
        /^Product created\.\nproduct: {2}(\S+)\npassword: (\S+)\nKeep the password now: only its hash is stored\.\n$/.exec(
          created.stdout,
        ) ?? [];
      assert.match(String(productId), /^[0-9a-f-]{36}$/);
      await refused(
        'Service "/vpn" has a product already; --rotate replaces its credentials.',
        'addProduct',
        '/vpn',
      );

      const rotated = JSON.parse((await run('addProduct', '/vpn', '--rotate', '--json')).stdout);
      assert.notEqual(rotated.product, productId);
      assert.notEqual(rotated.password, password);
      const store = await openStore(database);
      try {
        const product = await store.findProduct('/vpn');
        assert.equal(product?.productId, rotated.product);
        assert.deepEqual(product?.config, { proto: 'udp', dns: '10.8.0.1=x' });
        assert.ok(!product?.passwordHash.includes(rotated.password));
        assert.equal(await verifyPassword(rotated.password, product?.passwordHash ?? ''), true);
        assert.equal(await verifyPassword(String(password), product?.passwordHash ?? ''), false);
      } finally {
        await store.close();
      }
    });
  });
}
