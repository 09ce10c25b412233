import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../config.ts';
import { eventually, request } from '../support/client.ts';
import { type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

describe('Redis outage on the proxy path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ap-outage-'));
  let redis: RedisServer;
  let f: ProxyFixture;
  before(async () => {
    redis = await startRedisServer({ persistIn: dir });
    f = await startProxyFixture({
      ...defaultConfig().database,
      type: 'redis',
      name: '0',
      redis_host: '127.0.0.1',
      redis_port: redis.port,
    });
  });
  after(async () => {
    await f.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('refuses buyers with 503 while Redis is down and serves again once it is back', async () => {
    assert.equal((await request(`${f.url}/svc/echo`, { headers: f.buyer() })).status, 200);
    const before = (await f.store.getUsage('key-call'))?.pending ?? 0;
    await redis.stop();
    await eventually(() => !f.store.isAvailable());
    const seen = f.backend.received.length;
    const refused = await request(`${f.url}/svc/echo`, { headers: f.buyer() });
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.json(), { error: 'Accounting store unavailable' });
    assert.equal(f.backend.received.length, seen, 'nothing unbilled reaches the backend');
    // Admins are not metered, so the store is not needed to serve them.
    assert.equal(
      (await request(`${f.url}/svc/echo`, { headers: { 'x-auth-token': 'root-token' } })).status,
      200,
    );

    // Usage of an exchange that was in flight when Redis went away is retried, not dropped.
    const inFlight = f.proxy.recorder.record('key-call', 1);
    await eventually(() => !f.proxy.recorder.healthy);

    redis = await startRedisServer({ port: redis.port, persistIn: dir });
    await inFlight;
    await eventually(
      async () => (await request(`${f.url}/svc/echo`, { headers: f.buyer() })).status === 200,
      10_000,
    );
    assert.equal((await f.store.getUsage('key-call'))?.pending, before + 2);
  });
});
