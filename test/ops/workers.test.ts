/**
 * ACCOUNTING_PROXY_WORKERS=2 on both stores, as `npm start` runs it: both workers serve, a worker
 * killed with -9 under load loses no completed exchange's usage and comes back, the primary's
 * /metrics is the sum of the workers', SIGTERM drains both.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { Store } from '../../src/store/store.ts';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { sustainedLoad } from '../support/load.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';

const buyer = { 'x-auth-token': 'alice-token', 'x-api-key': 'key' };

/** The JSON log lines of the process so far. */
const logLines = (proxy: ProxyProcess) =>
  proxy
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function storedUsage(store: Store): Promise<number> {
  const buy = (await store.listUsage()).find((b) => b.apiKey === 'key');
  return (buy?.pending ?? 0) + (buy?.outbox?.value ?? 0);
}

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.slice(name.length + 1) ?? Number.NaN);
}

for (const backend of storeBackends()) {
  describe(`two workers on ${backend.name}`, () => {
    const servers = suiteServers();

    test('both serve; kill -9 of one under load loses nothing and it comes back; /metrics sums them; SIGTERM drains both', async () => {
      const database = backend.database();
      const store = await seedOneBuy(database, servers.api.url);
      const opsPort = await freePort();
      const proxy = await startProxyProcess({
        ...databaseEnv(database),
        ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
        ACCOUNTING_PROXY_WORKERS: '2',
        ACCOUNTING_PROXY_OPS_PORT: String(opsPort),
      });
      const ops = `http://127.0.0.1:${opsPort}`;
      const load = sustainedLoad(proxy.url, {
        concurrency: 8,
        paths: ['/svc/echo'],
        headers: buyer,
      });
      try {
        const started = logLines(proxy).filter((l) => l.msg === 'worker listening');
        assert.deepEqual(started.map((l) => l.worker).sort(), [1, 2]);
        assert.equal((await request(`${ops}/readyz`)).status, 200);

        // Keep-alive connections are spread over the workers as they are accepted.
        await eventually(() => load.count(200) >= 300, 20_000);
        const servedBy = new Set(
          logLines(proxy)
            .filter((l) => l.log === 'access')
            .map((l) => l.worker),
        );
        assert.deepEqual([...servedBy].sort(), [1, 2], 'both workers served');

        const victim = started[0];
        process.kill(Number(victim?.pid), 'SIGKILL');
        await eventually(
          () =>
            logLines(proxy).filter(
              (l) => l.msg === 'worker listening' && l.worker === victim?.worker,
            ).length === 2,
          20_000,
        );
        const afterRestart = load.count(200);
        await eventually(() => load.count(200) >= afterRestart + 200, 20_000);
        await eventually(async () => (await request(`${ops}/readyz`)).status === 200, 10_000);
        const tally = await load.stop();
        const completed = tally.statuses.get(200) ?? 0;
        const stored = await storedUsage(store);
        assert.ok(stored >= completed, `stored ${stored} < completed ${completed}`);
        // Only the exchanges in flight on the killed worker can be stored without a client
        // having seen their answer.
        assert.ok(stored <= completed + 8, `stored ${stored} > completed ${completed} + 8`);

        // The restarted worker counts from zero: the sum is what the workers served since, and
        // what the killed one served is gone with it. Traffic after the kill makes it exact.
        const before = sample(
          (await request(`${ops}/metrics`)).body.toString(),
          'accounting_proxy_metered_exchanges_total{unit="call"}',
        );
        for (let i = 0; i < 20; i++) {
          assert.equal((await request(`${proxy.url}/svc/echo`, { headers: buyer })).status, 200);
        }
        const text = (await request(`${ops}/metrics`)).body.toString();
        assert.equal(
          sample(text, 'accounting_proxy_metered_exchanges_total{unit="call"}'),
          before + 20,
        );
        assert.equal(
          sample(text, 'accounting_proxy_usage_pending{unit="call"}'),
          await storedUsage(store),
          'store gauges are read once, not summed over the workers',
        );
        const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);

        // SIGTERM drains both: exchanges in flight finish and are billed, the primary exits 0.
        // Read before the load starts: an exchange committed meanwhile would be counted twice.
        const storedBefore = await storedUsage(store);
        const drained = sustainedLoad(proxy.url, {
          concurrency: 4,
          paths: ['/svc/echo'],
          headers: buyer,
        });
        await eventually(() => drained.count(200) >= 50, 10_000);
        proxy.child.kill('SIGTERM');
        assert.equal(await proxy.exited, 0);
        const last = await drained.stop();
        assert.equal(await storedUsage(store), storedBefore + (last.statuses.get(200) ?? 0));
        const stopped = logLines(proxy).filter((l) => l.msg === 'stopping' && l.worker);
        assert.deepEqual(stopped.map((l) => l.worker).sort(), [1, 2]);
      } finally {
        await load.stop();
        await proxy.stop();
        await store.close();
      }
    });
  });
}
