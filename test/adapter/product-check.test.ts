/** Product credentials: verified with scrypt once per connection, remembered without the password. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RpcConnection } from '../../src/adapter/json-rpc.ts';
import { verifyProduct } from '../../src/adapter/product-check.ts';
import { hashPassword } from '../../src/adapter/secrets.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const connection = (): RpcConnection => ({
  subscriptions: new Map(),
  remoteAddress: '127.0.0.1',
  state: new Map(),
});

test('a verified password is remembered per connection as a digest, until the hash changes', async () => {
  const store = openSqliteStore({ filename: ':memory:' });
  try {
    await store.addService({
      publicPath: '/vpn',
      url: 'vpn.example.com:1194',
      appId: 'app',
      methods: [],
      isContextBroker: false,
      adapter: true,
    });
    const product = { productId: 'p-1', publicPath: '/vpn', config: {} };
    await store.setProduct({ ...product, passwordHash: await hashPassword('secret-1') });
    const first = connection();
    assert.equal((await verifyProduct(store, first, 'p-1', 'secret-1')).productId, 'p-1');
    const remembered = JSON.stringify([...first.state.values()]);
    assert.equal(first.state.size, 1);
    assert.ok(!remembered.includes('secret-1'), 'the connection keeps no password');
    await assert.rejects(
      verifyProduct(store, first, 'p-1', 'secret-2'),
      /access denied \(1236224\)/,
    );
    await assert.rejects(verifyProduct(store, connection(), 'p-1', 'wrong'), /access denied/);
    await assert.rejects(verifyProduct(store, first, 'p-2', 'secret-1'), /access denied/);

    // A new hash (the same id, as a store migration might leave it) is checked again.
    await store.setProduct(
      { ...product, passwordHash: await hashPassword('secret-3') },
      { replace: true },
    );
    await assert.rejects(verifyProduct(store, first, 'p-1', 'secret-1'), /access denied/);
    assert.equal((await verifyProduct(store, first, 'p-1', 'secret-3')).productId, 'p-1');
  } finally {
    await store.close();
  }
});
