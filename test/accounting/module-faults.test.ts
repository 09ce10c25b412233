/**
 * A module's fault never costs the exchange, on both stores: modules that throw, never settle, or
 * answer NaN, a negative amount or a string leave the client's answer intact and the proxy
 * serving; their fallback is recorded and the fault counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import type { AccountingModule } from '../../src/accounting/module.ts';
import { usageSpecificationFor } from '../../src/accounting/usage-specification.ts';
import { cli } from '../support/cli.ts';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { databaseEnv } from '../support/proxy-process.ts';
import { storeBackends } from '../support/store-backends.ts';

const faulty: Record<string, [AccountingModule['count'], string]> = {
  throws: [
    () => {
      throw new Error('module bug');
    },
    'threw',
  ],
  hangs: [() => new Promise<number>(() => {}), 'timeout'],
  nan: [() => Number.NaN, 'invalid_amount'],
  negative: [() => -3, 'invalid_amount'],
  text: [() => '12' as unknown as number, 'invalid_amount'],
};

const backends = storeBackends();
for (const backend of backends) {
  describe(`module faults on ${backend.name}`, () => {
    let f: ProxyFixture;
    let database: ReturnType<typeof backend.database>;
    before(async () => {
      database = backend.database();
      const modules = new Map(await loadAccountingModules(['call', 'megabyte', 'millisecond']));
      for (const [unit, [count]] of Object.entries(faulty)) {
        const fallback = unit === 'throws' ? 2 : undefined;
        modules.set(unit, {
          unit,
          usageSpecification: usageSpecificationFor(unit, unit),
          count,
          ...(fallback === undefined ? {} : { fallback }),
        });
      }
      f = await startProxyFixture(
        database,
        {
          ACCOUNTING_PROXY_MODULE_TIMEOUT: '30',
          ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
        },
        { modules },
      );
      for (const unit of Object.keys(faulty)) {
        await f.store.addBuy({
          ...{ apiKey: `key-${unit}`, publicPath: '/svc', orderId: `o-${unit}` },
          ...{ productId: `p-${unit}`, customer: 'alice', unit, recordType: `${unit}usage` },
        });
      }
      await f.proxy.routing.refresh();
    });
    after(() => f.close());

    test('the client gets the answer intact, the fallback is recorded and the fault counted', async () => {
      for (const unit of Object.keys(faulty)) {
        const answer = await request(`${f.url}/svc/bytes/5000`, {
          headers: { 'x-auth-token': 'alice-token', 'x-api-key': `key-${unit}` },
        });
        assert.equal(answer.status, 200, unit);
        assert.equal(answer.body.length, 5000, unit);
      }
      const pending = new Map(
        (await f.store.listUsage()).map((buy) => [buy.apiKey, buy.pending] as const),
      );
      assert.equal(pending.get('key-throws'), 2);
      for (const unit of ['hangs', 'nan', 'negative', 'text']) {
        assert.equal(pending.get(`key-${unit}`) ?? 0, 0, unit);
      }
      const metrics = (await f.proxy.metrics?.text()) ?? '';
      for (const [unit, [, reason]] of Object.entries(faulty)) {
        assert.match(
          metrics,
          new RegExp(
            `accounting_proxy_meter_faults_total\\{unit="${unit}",reason="${reason}"\\} 1`,
          ),
        );
      }
      // Kept with each buy, for the operator: cli usage shows them.
      await eventually(async () => {
        const faults = (await f.store.listUsage()).filter((buy) => buy.meterFaults);
        return faults.length === Object.keys(faulty).length;
      });
      const table = await cli(databaseEnv(database), 'usage');
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.split('\n');
      assert.match(lines[0] ?? '', /REPORTING\s+METER FAULTS$/);
      assert.match(lines.find((line) => line.includes('o-hangs')) ?? '', /timeout 1$/);
      assert.match(lines.find((line) => line.includes('o-call')) ?? '', /\s-$/);
      // And the proxy meters everyone else as before.
      assert.equal((await request(`${f.url}/svc/echo/x`, { headers: f.buyer() })).status, 200);
      const calls = (await f.store.listUsage()).find((buy) => buy.apiKey === 'key-call');
      assert.equal(calls?.pending, 1);
    });
  });
}
