/**
 * Reporting against the usage API as the BAE v7.8.0 answers (marketplace-contract §3.3): lost
 * answers, uncommitted keys, rejected records, a marketplace out of step, a lost lock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import { fingerprint } from '../../src/cli/reporting-state.ts';
import { createLogger } from '../../src/log.ts';
import {
  createReportCycle,
  REPORT_LOCK,
  type ReportCycleOptions,
} from '../../src/usage/report-cycle.ts';
import { createUsageApi } from '../../src/usage/usage-api.ts';
import { cli } from '../support/cli.ts';
import { eventually, request } from '../support/client.ts';
import { API_KEYS, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { type StoreBackend, storeBackends } from '../support/store-backends.ts';
import { testClock } from '../support/test-clock.ts';
import { FakeUsageApi } from '../support/usage-server.ts';

type Unit = 'call' | 'megabyte';

interface Bae {
  f: ProxyFixture;
  usage: FakeUsageApi;
  /** A consumer request metered on the buy of `unit`. */
  call(unit?: Unit): Promise<void>;
  /** The marketplace's `POST urls` with this key, as the plug-in sends it. */
  checkUrl(key: string): Promise<void>;
  /** What the store still holds of a buy: pending plus its unsent record. */
  unreported(unit: Unit): Promise<number>;
  cli(...argv: string[]): ReturnType<typeof cli>;
}

async function withBae(backend: StoreBackend, body: (bae: Bae) => Promise<void>): Promise<void> {
  const usage = new FakeUsageApi('committed-key-0001', { mode: 'bae-7.8.0' });
  await usage.start();
  const database = backend.database();
  const f = await startProxyFixture(database, {
    ACCOUNTING_PROXY_USAGE_API_URL: usage.url,
    // Far away: the tests run cycles themselves, or through the retry backoff.
    ACCOUNTING_PROXY_USAGE_SCHEDULE: '0 0 1 1 *',
    ACCOUNTING_PROXY_USAGE_RETRY: '50',
    ACCOUNTING_PROXY_USAGE_RETRY_MAX: '200',
    ACCOUNTING_PROXY_USAGE_TIMEOUT: '2000',
  });
  const env = { ...databaseEnv(database), ACCOUNTING_PROXY_USAGE_API_URL: usage.url };
  try {
    await body({
      f,
      usage,
      async call(unit = 'call') {
        const path = unit === 'call' ? '/svc/echo' : '/svc/bytes/1000';
        const response = await request(`${f.url}${path}`, { headers: f.buyer(unit) });
        assert.equal(response.status, 200);
      },
      async checkUrl(key) {
        const response = await request(`${f.url}/accounting_proxy/urls`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'X-API-KEY': key,
            Authorization: 'bearer root-token',
          },
          body: JSON.stringify({ url: `${f.url}/svc` }),
        });
        assert.equal(response.status, 200);
      },
      async unreported(unit) {
        const buy = (await f.store.listUsage()).find((b) => b.apiKey === API_KEYS[unit]);
        return (buy?.pending ?? 0) + (buy?.outbox?.value ?? 0);
      },
      cli: (...argv) => cli(env, ...argv),
    });
  } finally {
    await f.close();
    await usage.stop();
  }
}

/** A report cycle of its own on the fixture's store, beside the proxy's scheduler. */
async function reportCycle(
  f: ProxyFixture,
  usage: FakeUsageApi,
  options: Pick<ReportCycleOptions, 'clock' | 'lockTtlMs'>,
) {
  return createReportCycle({
    store: f.store,
    modules: await loadAccountingModules(['call', 'megabyte', 'millisecond']),
    usageApi: createUsageApi({ baseUrl: usage.url, timeoutMs: 10_000 }),
    usageApiUrl: usage.url,
    log: createLogger('silent'),
    ...options,
  });
}

for (const backend of storeBackends()) {
  describe(`usage reporting against the BAE v7.8.0 on ${backend.name}`, () => {
    test('a record accepted whose answer was cut is completed by one resend, and later usage follows', () =>
      withBae(backend, async ({ f, usage, call, unreported }) => {
        usage.contract('o-call', 'p-call', 'alice', ['call']);
        await f.store.addMarketplaceKey(usage.token, new Date());
        for (let i = 0; i < 3; i++) await call();
        usage.cutAfterStoring = 1;
        const cut = await f.proxy.usage.runNow();
        assert.equal(cut.failures.length, 1, 'a cut connection is an unknown outcome');
        // The scheduler's backoff resends it; the BAE answers 422 expected: 1 = accepted.
        await eventually(async () => (await unreported('call')) === 0);
        for (let i = 0; i < 2; i++) await call();
        const next = await f.proxy.usage.runNow();
        assert.deepEqual(next.failures, []);
        assert.deepEqual(
          next.sent.map((r) => [r.correlationNumber, r.value]),
          [[1, 2]],
        );
        const records = usage.recordsOf('o-call');
        assert.deepEqual(
          records.map((r) => r.verdict),
          ['guided', 'duplicate', 'guided'],
          'one identical resend, never a loop',
        );
        assert.equal(records[1]?.raw, records[0]?.raw);
        assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 5, numbers: [0, 1] });
        assert.deepEqual(usage.rejected(), []);
        assert.equal((await f.store.listUsage())[0]?.reportStatus, undefined);
      }));

    test('reports go on with an earlier key while the newest is uncommitted, and move to a later committed key', () =>
      withBae(backend, async ({ f, usage, call, checkUrl, unreported, cli }) => {
        usage.contract('o-call', 'p-call', 'alice', ['call']);
        await checkUrl(usage.token);
        await call();
        await f.proxy.usage.runNow();
        // The plug-in's commit of the next key failed: the BAE refuses it for good.
        usage.issueKey('uncommitted-key-0002', 'uncommitted');
        await checkUrl('uncommitted-key-0002');
        await call();
        await call();
        const afterUncommitted = await f.proxy.usage.runNow();
        assert.deepEqual(afterUncommitted.failures, []);
        assert.equal(usage.keyRefusals.get('uncommitted-key-0002'), 1);
        await call();
        await f.proxy.usage.runNow();
        assert.equal(
          usage.keyRefusals.get('uncommitted-key-0002'),
          1,
          'a refused key is not tried while another works',
        );
        usage.issueKey('committed-key-0003', 'committed');
        await checkUrl('committed-key-0003');
        await call();
        await f.proxy.usage.runNow();
        assert.deepEqual(
          usage.recordsOf('o-call').map((r) => r.key),
          [usage.token, usage.token, usage.token, 'committed-key-0003'],
        );
        assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 5, numbers: [0, 1, 2, 3] });
        assert.equal(await unreported('call'), 0);
        assert.deepEqual(usage.rejected(), []);

        const shown = await cli('usage', '--json');
        assert.equal(shown.code, 0, shown.stderr);
        for (const key of [usage.token, 'uncommitted-key-0002', 'committed-key-0003']) {
          assert.ok(!shown.stdout.includes(key), 'keys are never printed');
        }
        const keys = JSON.parse(shown.stdout).marketplaceKeys as Record<string, string>[];
        assert.deepEqual(
          keys.map((k) => [k.fingerprint, k.state]),
          [
            [fingerprint('committed-key-0003'), 'accepted'],
            [fingerprint('uncommitted-key-0002'), 'refused'],
            [fingerprint(usage.token), 'accepted'],
          ],
        );
      }));

    test('every key refused: nothing is sent or lost, and reporting resumes once a key is committed', () =>
      withBae(backend, async ({ f, usage, call, checkUrl, unreported }) => {
        usage.contract('o-call', 'p-call', 'alice', ['call']);
        usage.issueKey('uncommitted-key-0004', 'uncommitted');
        await checkUrl('uncommitted-key-0004');
        await call();
        const refused = await f.proxy.usage.runNow();
        assert.deepEqual(
          refused.failures.map((x) => [x.subject, x.error]),
          [['marketplace keys', 'Apikey uncommitted']],
        );
        assert.equal(usage.records.length, 0);
        usage.issueKey('uncommitted-key-0004', 'committed');
        await eventually(async () => (await unreported('call')) === 0, 10_000);
        assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 1, numbers: [0] });
      }));

    test('a rejected record is kept, shown, resent once per scheduled cycle, and other buys keep reporting', () =>
      withBae(backend, async ({ f, usage, call, unreported, cli }) => {
        // The offering prices megabytes only: the call buy's records are refused.
        usage.contract('o-call', 'p-call', 'alice', ['megabyte']);
        usage.contract('o-megabyte', 'p-megabyte', 'alice', ['megabyte']);
        await f.store.addMarketplaceKey(usage.token, new Date());
        await call();
        await call();
        await call('megabyte');
        // The megabyte record's answer is lost, so the scheduler retries that cycle.
        usage.beforeAnswer = async (record) => {
          if (!record.raw.includes('"o-megabyte"')) return;
          usage.beforeAnswer = undefined;
          usage.cutAfterStoring = 1;
        };
        const first = await f.proxy.usage.runNow();
        const reason = 'The specified unit is not included in the pricing model';
        assert.deepEqual(
          first.held.map((h) => [h.orderId, h.state, h.message]),
          [['o-call', 'rejected', reason]],
        );
        await eventually(async () => (await unreported('megabyte')) === 0);
        assert.equal(usage.recordsOf('o-call').length, 1, 'retries of the cycle do not resend it');
        // A buy ending runs a cycle within the scheduled one: it does not resend it either.
        const extra = await f.proxy.usage.runWithinSchedule();
        assert.deepEqual(
          extra.held.map((h) => h.orderId),
          ['o-call'],
        );
        assert.equal(usage.recordsOf('o-call').length, 1);
        assert.equal(await unreported('call'), 2, 'the rejected usage is kept');

        const table = await cli('usage');
        assert.match(
          table.stdout,
          new RegExp(`o-call .* rejected by the marketplace since \\S+: ${reason}`),
        );
        const json = JSON.parse((await cli('usage', '--json')).stdout);
        const shown = json.buys.find((b: { orderId: string }) => b.orderId === 'o-call');
        assert.deepEqual(Object.keys(shown.reporting), ['state', 'message', 'since']);
        assert.equal(shown.reporting.state, 'rejected');
        const report = await cli('report');
        assert.equal(report.code, 1);
        assert.match(
          report.stderr,
          /^error: 1 buy\(s\) need attention: order o-call product p-call: rejected/,
        );
        assert.equal(usage.recordsOf('o-call').length, 2, 'a manual cycle sends it again');

        // The provider fixes the offering; the next scheduled cycle gets it accepted.
        usage.contractOf('o-call', 'p-call').units = ['call'];
        await call('megabyte');
        const fixed = await f.proxy.usage.runNow();
        assert.deepEqual(fixed.held, []);
        assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 2, numbers: [0] });
        assert.equal((await cli('report')).code, 0);
        assert.ok(usage.rejected().every((r) => r.reason === reason));
        assert.deepEqual(usage.accepted('o-megabyte', 'p-megabyte').numbers, [0, 1]);
      }));

    test('a marketplace out of step stops that buy, shows it, lets the rest go on, and cli resume sends it again', () =>
      withBae(backend, async ({ f, usage, call, unreported, cli }) => {
        usage.contract('o-call', 'p-call', 'alice', ['call']);
        usage.contract('o-megabyte', 'p-megabyte', 'alice', ['megabyte']);
        await f.store.addMarketplaceKey(usage.token, new Date());
        usage.contractOf('o-call', 'p-call').expected = 3;
        await call();
        await call('megabyte');
        const first = await f.proxy.usage.runNow();
        assert.deepEqual(
          first.held.map((h) => [h.orderId, h.state, h.expected]),
          [['o-call', 'out-of-step', 3]],
        );
        await call();
        await call('megabyte');
        const second = await f.proxy.usage.runNow();
        assert.deepEqual(
          second.held.map((h) => h.orderId),
          ['o-call'],
        );
        assert.equal(usage.recordsOf('o-call').length, 1, 'nothing more is sent for it');
        assert.equal(await unreported('call'), 2, 'its usage keeps accumulating');
        assert.deepEqual(usage.accepted('o-megabyte', 'p-megabyte').numbers, [0, 1]);

        assert.match(
          (await cli('usage')).stdout,
          /o-call .* out of step with the marketplace since \S+: it expects #3/,
        );
        const report = await cli('report');
        assert.equal(report.code, 1);
        assert.match(report.stderr, /order o-call product p-call: out of step .* expects #3/);
        assert.equal(usage.recordsOf('o-call').length, 1);

        // Someone looked: the marketplace's extra records were a mistake and are removed there.
        usage.contractOf('o-call', 'p-call').expected = 0;
        const resumed = await cli('resume', 'o-call', 'p-call');
        assert.equal(resumed.code, 0, resumed.stderr);
        const again = await cli('resume', 'o-call', 'p-call');
        assert.equal(again.code, 1);
        assert.match(again.stderr, /^error: No buy of order "o-call" and product "p-call" has/);
        await f.proxy.usage.runNow();
        await f.proxy.usage.runNow();
        assert.deepEqual(usage.accepted('o-call', 'p-call'), { sum: 2, numbers: [0, 1] });
        assert.equal(await unreported('call'), 0);
      }));

    test('records are dated by the cycle clock; a rejected one is resent only in a later scheduled cycle', () =>
      withBae(backend, async ({ f, usage, call }) => {
        usage.contract('o-call', 'p-call', 'alice', ['megabyte']);
        await f.store.addMarketplaceKey(usage.token, new Date());
        await call();
        const clock = testClock(Date.parse('2027-03-01T08:00:00.000Z'));
        const cycle = await reportCycle(f, usage, { clock });
        const firstSlot = new Date(clock.now());
        const first = await cycle.run({ scheduledAt: firstSlot });
        assert.equal(first.held[0]?.since, '2027-03-01T08:00:00.000Z');
        assert.equal(usage.recordsOf('o-call')[0]?.body.date, '2027-03-01T08:00:00.000Z');
        clock.advance(60_000);
        // A retry of the same scheduled cycle: held.
        const retry = await cycle.run({ scheduledAt: firstSlot });
        assert.deepEqual(
          retry.held.map((h) => h.state),
          ['rejected'],
        );
        assert.equal(usage.recordsOf('o-call').length, 1);
        // The next scheduled cycle sends the identical record again.
        await cycle.run({ scheduledAt: new Date(clock.now()) });
        const records = usage.recordsOf('o-call');
        assert.equal(records.length, 2);
        assert.equal(records[1]?.raw, records[0]?.raw);
        const [buy] = await f.store.listUsage();
        assert.equal(buy?.reportStatus?.since, '2027-03-01T08:00:00.000Z');
        assert.equal(buy?.reportStatus?.lastAttempt, '2027-03-01T08:01:00.000Z');
      }));

    test('a cycle that lost its lock sends nothing more', () =>
      withBae(backend, async ({ f, usage, call, unreported }) => {
        usage.contract('o-call', 'p-call', 'alice', ['call']);
        usage.contract('o-megabyte', 'p-megabyte', 'alice', ['megabyte']);
        await f.store.addMarketplaceKey(usage.token, new Date());
        await call();
        await call('megabyte');
        const cycle = await reportCycle(f, usage, { lockTtlMs: 100 });
        const thief = 'elsewhere:1:thief';
        // While the first record waits for its answer, the lock expires and another takes it.
        usage.beforeAnswer = async () => {
          usage.beforeAnswer = undefined;
          await eventually(() => f.store.acquireLock(REPORT_LOCK, thief, 60_000), 5000);
        };
        const result = await cycle.run();
        assert.equal(result.interrupted, 'lock-lost');
        assert.equal(usage.records.length, 1, 'no record after the loss');
        assert.equal(result.sent.length, 1, 'the answered record is completed');
        assert.equal(await f.store.lockOwner(REPORT_LOCK), thief);
        assert.equal(await unreported('megabyte'), 1000 / 1048576, 'kept for the next cycle');
        await f.store.releaseLock(REPORT_LOCK, thief);
        await f.proxy.usage.runNow();
        assert.deepEqual(usage.rejected(), []);
        assert.equal(await unreported('megabyte'), 0);
      }));
  });
}
