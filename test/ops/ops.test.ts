/**
 * The ops listener on both stores: exact metrics after known traffic and one report, promtool's
 * verdict on the exposition, readiness through a store outage, one access-log line per exchange.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../config.ts';
import { createAccessLog } from '../../src/ops/access-log.ts';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { lockSqliteFile } from '../support/sqlite-lock.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

/** The samples of an exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

/** An access log that keeps every line it writes, parsed. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createAccessLog({
    // Each line handed over alone, as it is written.
    write: (bytes) => void lines.push(JSON.parse(bytes.toString()) as Record<string, unknown>),
    now: Date.now,
    blockBytes: 1,
  });
  return { log, lines };
}

const reportingEnv = (usage: FakeUsageApi, opsPort: number) => ({
  ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
  ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
  ACCOUNTING_PROXY_OPS_PORT: String(opsPort),
});

for (const backend of storeBackends()) {
  describe(`ops listener on ${backend.name}`, () => {
    let usage: FakeUsageApi;
    let f: ProxyFixture;
    let ops: string;
    const access = capturingLog();
    before(async () => {
      usage = new FakeUsageApi();
      await usage.start();
      usage.contract('o-call', 'p-call', 'alice', ['call']);
      const opsPort = await freePort();
      f = await startProxyFixture(backend.database(), reportingEnv(usage, opsPort), {
        accessLog: access.log,
      });
      ops = `http://127.0.0.1:${f.proxy.opsPort}`;
    });
    after(async () => {
      await f.close();
      await usage.stop();
    });
    const scrape = async () => {
      const answer = await request(`${ops}/metrics`);
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return answer.body.toString();
    };

    test('health, readiness and the answers to anything else', async () => {
      assert.deepEqual((await request(`${ops}/healthz`)).json(), { status: 'ok' });
      const ready = await request(`${ops}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json(), { status: 'ready' });
      const unknown = await request(`${ops}/nothing`);
      assert.equal(unknown.status, 404);
      assert.match(unknown.json<{ error: string }>().error, /serves \/metrics/);
      const post = await request(`${ops}/metrics`, { method: 'POST' });
      assert.equal(post.status, 405);
      // The proxy port does not serve them.
      assert.equal((await request(`${f.url}/metrics`)).status, 401);
    });

    test('after N metered calls, M refused calls and one report, /metrics shows exactly those', async () => {
      // The cycle the scheduler runs at start has ended (no key yet: skipped).
      await f.proxy.usage.runNow();
      const N = 5;
      for (let i = 0; i < N; i++) {
        const answer = await request(`${f.url}/svc/echo`, { headers: f.buyer('call') });
        assert.equal(answer.status, 200);
      }
      const refusals = [
        {
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'wrong' },
          code: 'API_KEY_INVALID',
        },
        {
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'wrong' },
          code: 'API_KEY_INVALID',
        },
        { headers: { 'x-auth-token': 'nobody' }, code: 'TOKEN_INVALID' },
        { headers: { 'x-auth-token': 'nobody' }, code: 'TOKEN_INVALID' },
        { headers: {}, code: 'TOKEN_MISSING', path: '/unknown' },
      ];
      for (const refusal of refusals) {
        const answer = await request(`${f.url}${refusal.path ?? '/svc/echo'}`, {
          headers: refusal.headers,
        });
        assert.equal(answer.status, 401);
      }
      const before = samples(await scrape());
      const pending = (unit: string, figures: Map<string, number>) =>
        figures.get(`accounting_proxy_usage_pending{unit="${unit}"}`);
      assert.equal(pending('call', before), N);
      assert.equal(pending('megabyte', before), 0);

      await f.store.addMarketplaceKey(usage.token, new Date());
      const result = await f.proxy.usage.runNow();
      assert.equal(result.records.accepted, 1);
      assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: N, numbers: [0] });

      const text = await scrape();
      const m = samples(text);
      const get = (sample: string) => m.get(`accounting_proxy_${sample}`);
      assert.equal(get('requests_total{service="/svc",outcome="forwarded",code=""}'), N);
      assert.equal(
        get('requests_total{service="/svc",outcome="refused",code="API_KEY_INVALID"}'),
        2,
      );
      assert.equal(get('requests_total{service="/svc",outcome="refused",code="TOKEN_INVALID"}'), 2);
      // This one and the earlier test's GET /metrics on the proxy port.
      assert.equal(get('requests_total{service="",outcome="refused",code="TOKEN_MISSING"}'), 2);
      assert.equal(get('request_duration_seconds_count{service="/svc"}'), N + 4);
      assert.equal(get('upstream_duration_seconds_count{service="/svc"}'), N);
      assert.equal(get('metered_exchanges_total{unit="call"}'), N);
      assert.equal(get('metered_amount_total{unit="call"}'), N);
      assert.equal(get('usage_pending{unit="call"}'), 0);
      assert.equal(get('outbox_records'), 0);
      assert.equal(get('buys_rejected'), 0);
      assert.equal(get('report_cycles_total{result="sent"}'), 1);
      assert.ok((get('report_cycles_total{result="skipped"}') ?? 0) >= 1);
      assert.equal(get('report_cycles_total{result="failed"}'), 0);
      assert.equal(get('usage_records_total{result="accepted"}'), 1);
      assert.equal(get('usage_records_total{result="rejected"}'), 0);
      assert.ok((get('last_report_success_timestamp_seconds') ?? 0) > Date.now() / 1000 - 60);
      assert.equal(get('store_up'), 1);
      assert.equal(get('usage_uncommitted'), 0);
      assert.equal(get('store_commit_duration_seconds_count'), N);
      // One IdM call per token (alice's valid, the unknown one invalid), then the cache.
      assert.equal(get('idm_requests_total{result="valid"}'), 1);
      assert.equal(get('idm_requests_total{result="invalid"}'), 1);
      assert.equal(get('token_cache_total{result="miss"}'), 2);
      assert.equal(get('token_cache_total{result="hit"}'), N + 4 - 2);
      assert.ok((get('process_cpu_seconds_total') ?? 0) > 0, 'default process metrics, prefixed');
      // Labels never carry users, keys or tokens.
      for (const secret of ['alice', 'key-call', 'wrong', 'nobody', '/unknown']) {
        assert.ok(!text.includes(secret), `no ${secret} in the exposition`);
      }

      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(lint.error, undefined, 'promtool runs (Debian package prometheus)');
      assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);
      assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '');
    });

    test('one access-log line per exchange, with the request id the backend received, no secret', async () => {
      access.lines.length = 0;
      const seen = f.backend.received.length;
      const given = await request(`${f.url}/svc/echo`, {
        headers: { ...f.buyer('call'), 'x-request-id': 'client-id-1' },
      });
      const generated = await request(`${f.url}/svc/echo`, {
        headers: { ...f.buyer('call'), 'x-request-id': `bad id ${'x'.repeat(200)}` },
      });
      const admin = await request(`${f.url}/svc/echo`, {
        headers: { 'x-auth-token': 'root-token' },
      });
      const refused = await request(`${f.url}/svc/echo`, {
        headers: { 'x-auth-token': 'alice-token', 'x-api-key': 'wrong' },
      });
      assert.equal(given.headers['x-request-id'], 'client-id-1');
      const generatedId = String(generated.headers['x-request-id']);
      assert.match(generatedId, /^[0-9a-f-]{36}$/);
      assert.match(String(admin.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      assert.match(String(refused.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const backendIds = f.backend.received.slice(seen).map((r) => r.headers['x-request-id']);
      assert.deepEqual(backendIds, ['client-id-1', generatedId, admin.headers['x-request-id']]);

      await eventually(() => access.lines.length >= 4);
      assert.equal(access.lines.length, 4, 'one line per exchange');
      const [first, second, third, fourth] = access.lines;
      assert.deepEqual(
        { ...first, time: 0, durationMs: 0, upstreamMs: 0, bytesOut: 0 },
        {
          level: 30,
          time: 0,
          log: 'access',
          requestId: 'client-id-1',
          method: 'GET',
          path: '/svc/echo',
          service: '/svc',
          status: 200,
          outcome: 'forwarded',
          bytesIn: 0,
          bytesOut: 0,
          durationMs: 0,
          upstreamMs: 0,
          user: 'alice',
          amount: 1,
          unit: 'call',
          msg: 'exchange',
        },
      );
      assert.equal(first?.bytesOut, given.body.length);
      assert.equal(second?.requestId, generatedId);
      assert.equal(third?.user, 'root');
      assert.equal(third?.unit, undefined, 'an admin call is not metered');
      assert.deepEqual(
        [fourth?.outcome, fourth?.code, fourth?.status, fourth?.bytesOut],
        ['refused', 'API_KEY_INVALID', 401, refused.body.length],
      );
      const text = JSON.stringify(access.lines);
      for (const secret of ['alice-token', 'root-token', 'key-call', 'wrong']) {
        assert.ok(!text.includes(secret), `no ${secret} in the access log`);
      }
    });
  });
}

describe('readiness follows the store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ap-readyz-'));
  mkdirSync(join(dir, 'redis'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const readyz = async (ops: string) => {
    const answer = await request(`${ops}/readyz`);
    return { status: answer.status, body: answer.json<{ status: string; reasons?: string[] }>() };
  };
  const notReady = {
    status: 503,
    body: { status: 'not ready', reasons: ['store unreachable or not writable'] },
  };

  test('Redis stopped: 503 naming the store; back: 200', async () => {
    const redis = await startRedisServer({ persistIn: join(dir, 'redis') });
    let restarted: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    const database = {
      ...defaultConfig().database,
      type: 'redis' as const,
      name: '0',
      redis_host: '127.0.0.1',
      redis_port: redis.port,
    };
    const f = await startProxyFixture(database, {
      ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
    });
    const ops = `http://127.0.0.1:${f.proxy.opsPort}`;
    try {
      assert.equal((await readyz(ops)).status, 200);
      await redis.stop();
      await eventually(async () => (await readyz(ops)).status === 503, 10_000);
      assert.deepEqual(await readyz(ops), notReady);
      assert.match(await (await request(`${ops}/metrics`)).body.toString(), /store_up 0/);
      restarted = await startRedisServer({ port: redis.port, persistIn: join(dir, 'redis') });
      await eventually(async () => (await readyz(ops)).status === 200, 10_000);
    } finally {
      await f.close();
      await restarted?.stop();
    }
  });

  test('SQLite locked by another process: 503 naming the store; released: 200', async () => {
    const database = {
      ...defaultConfig().database,
      type: 'sqlite' as const,
      name: join(dir, 'ready.sqlite'),
    };
    const f = await startProxyFixture(database, {
      ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
    });
    const ops = `http://127.0.0.1:${f.proxy.opsPort}`;
    try {
      assert.equal((await readyz(ops)).status, 200);
      const lock = await lockSqliteFile(database.name);
      try {
        await eventually(async () => (await readyz(ops)).status === 503, 10_000);
        assert.deepEqual(await readyz(ops), notReady);
      } finally {
        await lock.release();
      }
      await eventually(async () => (await readyz(ops)).status === 200, 10_000);
    } finally {
      await f.close();
    }
  });
});
