/** `cli/cli report` in the tmf4 mode sends the closed windows of the TMF v4 purchases. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';
import { cli } from '../support/cli.ts';
import { FakeTmf } from '../support/tmf/fake-tmf.ts';

const dir = mkdtempSync(join(tmpdir(), 'ap-tmf-cli-'));
let tmf: FakeTmf;
before(async () => {
  tmf = await new FakeTmf().start();
  tmf.organizations.set('urn:ngsi-ld:organization:provider', {
    id: 'urn:ngsi-ld:organization:provider',
  });
});
after(async () => {
  await tmf.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('report sends each closed window of a TMF v4 purchase once, and says how many', async () => {
  const env = {
    ACCOUNTING_PROXY_DB_NAME: join(dir, 'store.sqlite'),
    ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
    ACCOUNTING_PROXY_TMF_URL: tmf.url,
    ACCOUNTING_PROXY_TMF_SELLER: 'urn:ngsi-ld:organization:provider',
    ACCOUNTING_PROXY_TMF_USAGE_WINDOW: '60000',
  };
  const store = await openStore(loadConfig(env).database);
  try {
    await store.addService({
      publicPath: '/svc',
      url: 'http://127.0.0.1:1',
      appId: 'app',
      methods: ['GET'],
      isContextBroker: false,
    });
    await store.addBuy({
      apiKey: 'k',
      publicPath: '/svc',
      orderId: 'urn:ngsi-ld:product:p',
      productId: 'urn:ngsi-ld:product:p',
      customer: 'urn:ngsi-ld:organization:acme',
      unit: 'call',
      recordType: 'callusage',
      terms: { customerKeys: ['acme'], customerType: 'Organization', unitName: 'api call' },
    });
    // Two closed windows, and the one under way (not sent).
    const now = Date.now();
    const start = now - (now % 60_000);
    for (const [seq, windowStart] of [start - 120_000, start - 60_000, start].entries()) {
      await store.addUsage([{ apiKey: 'k', amount: seq + 1 }], {
        writer: 'w',
        seq: seq + 1,
        window: { start: windowStart, at: windowStart + 1000, length: 60_000 },
      });
    }
  } finally {
    await store.close();
  }
  const first = await cli(env, 'report');
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, '2 usage record(s) sent.\n');
  assert.deepEqual(
    tmf.usages.map((u) => (u.usageCharacteristic as { value: number }[])[0]?.value),
    [1, 2],
  );
  const again = await cli(env, 'report');
  assert.equal(again.stdout, '0 usage record(s) sent.\n');
  assert.equal(tmf.usages.length, 2);
  assert.deepEqual(tmf.invalid, []);
});
