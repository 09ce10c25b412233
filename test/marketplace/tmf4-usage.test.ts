/**
 * tmf4 mode: metered calls become TMF635 v4 usage records, one per product, unit and window, valid
 * against the marketplace's OpenAPI file and billed as DOME's billing engine bills them; exactly
 * once when the answer is lost (POST finds its marker, PUT gets 409) and when the usage API is down
 * for several windows. Both stores, against the TMF stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import { keyrockUser } from '../support/idm.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';
import { FakeTmf, type Json } from '../support/tmf/fake-tmf.ts';

const OFFERING = 'urn:ngsi-ld:product-offering:weather-api';
const POP = 'urn:ngsi-ld:product-offering-price:per-call';
const ACME = 'urn:ngsi-ld:organization:acme';
const SELLER = 'urn:ngsi-ld:organization:provider';
const SPEC = 'urn:ngsi-ld:usageSpecification:weather-calls';
const WINDOW_MS = 2000;
const PRICE = 0.01;

function seed(tmf: FakeTmf, productId: string): void {
  tmf.offerings.set(OFFERING, { id: OFFERING });
  tmf.prices.set(POP, {
    id: POP,
    priceType: 'payPerUse',
    unitOfMeasure: { amount: 1, units: 'api call' },
    price: { unit: 'EUR', value: PRICE },
    usageSpecId: SPEC,
  });
  tmf.organizations.set(ACME, { id: ACME, externalReference: [{ name: 'acme-idm' }] });
  tmf.organizations.set(SELLER, { id: SELLER });
  tmf.usageSpecifications.set(SPEC, { id: SPEC });
  tmf.putProduct(
    {
      id: productId,
      name: 'oid-42',
      status: 'active',
      productOffering: { id: OFFERING },
      productPrice: [{ priceType: 'usage', productOfferingPrice: { id: POP } }],
      relatedParty: [{ id: ACME, role: 'Customer', '@referredType': 'Organization' }],
    },
    { silently: true },
  );
}

/** What DOME's billing engine charges a product for a period (tmf-v4.md B2). */
function domeBill(usages: Json[], productId: string, start: number, end: number): number {
  let total = 0;
  for (const usage of usages) {
    const date = Date.parse(String(usage.usageDate));
    const products = (usage.ratedProductUsage as { productRef: { id: string } }[]) ?? [];
    if (date < start || date > end || !products.some((p) => p.productRef.id === productId))
      continue;
    for (const c of (usage.usageCharacteristic as { name: string; value: unknown }[]) ?? []) {
      if (c.name === 'api call') total += (PRICE * Number(c.value)) / 1;
    }
  }
  return total;
}

/** Waits for the next window to start, so that a few quick calls fall into it. */
async function startOfWindow(): Promise<number> {
  const next = Date.now() - (Date.now() % WINDOW_MS) + WINDOW_MS;
  await eventually(() => Date.now() >= next, WINDOW_MS * 2);
  return next;
}

const backends = storeBackends();
for (const backend of backends) {
  for (const put of [false, true]) {
    describe(`tmf4 usage records on ${backend.name} (${put ? 'PUT with id' : 'POST'})`, () => {
      let tmf: FakeTmf;
      let f: ProxyFixture;
      let opsPort = 0;
      const productId = `urn:ngsi-ld:product:${put ? 'put' : 'post'}-${backend.name}`;
      const carol = { 'x-auth-token': 'carol-token' };
      const calls = async (count: number) => {
        for (let i = 0; i < count; i++) {
          assert.equal((await request(`${f.url}/svc/echo/x`, { headers: carol })).status, 200);
        }
      };
      const records = () => tmf.usages.filter((u) => JSON.stringify(u).includes(productId));
      const total = () =>
        records().reduce(
          (sum, u) => sum + Number((u.usageCharacteristic as { value: number }[])[0]?.value),
          0,
        );
      before(async () => {
        tmf = await new FakeTmf({ usagePut: put }).start();
        seed(tmf, productId);
        const port = await freePort();
        opsPort = await freePort();
        f = await startProxyFixture(backend.database(), {
          ACCOUNTING_PROXY_PORT: String(port),
          ACCOUNTING_PROXY_OPS_PORT: String(opsPort),
          ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
          ACCOUNTING_PROXY_TMF_URL: tmf.url,
          ACCOUNTING_PROXY_TMF_SELLER: SELLER,
          ACCOUNTING_PROXY_TMF_UNITS: 'call=api call',
          ACCOUNTING_PROXY_TMF_USAGE_WINDOW: String(WINDOW_MS),
          ACCOUNTING_PROXY_TMF_USAGE_PUT: String(put),
          ACCOUNTING_PROXY_USAGE_RETRY: '100',
          ACCOUNTING_PROXY_USAGE_RETRY_MAX: '400',
        });
        f.idm.users.set('carol-token', {
          ...keyrockUser('carol', APP_ID),
          organizations: [{ id: 'acme-idm', name: 'ACME', roles: [] }],
        });
        await f.store.setServiceCatalog('/svc', { offerings: [OFFERING], productSpecs: [] });
        await f.proxy.marketplace?.reconcileNow();
      });
      after(async () => {
        await f.close();
        await tmf.stop();
      });

      test('calls in a window make one record, valid, with the fields DOME bills by', async () => {
        const start = await startOfWindow();
        await calls(3);
        await eventually(() => records().length === 1, WINDOW_MS * 3);
        const [usage] = records();
        assert.deepEqual(tmf.invalid, []);
        assert.match(String(usage?.id), /^urn:ngsi-ld:usage:[0-9a-f-]{36}$/);
        const date = Date.parse(String(usage?.usageDate));
        // After its window's start; not bounded above: a loaded machine may make the calls late.
        assert.ok(
          date > start,
          `dated within its window, not on its start: ${usage?.usageDate}, window from ${new Date(start).toISOString()}`,
        );
        assert.equal(usage?.status, 'received');
        assert.deepEqual(usage?.usageCharacteristic, [
          { name: 'api call', valueType: 'number', value: 3 },
        ]);
        assert.deepEqual(usage?.ratedProductUsage, [
          {
            productRef: {
              id: productId,
              href: `${tmf.url}/tmf-api/productInventory/v4/product/${productId}`,
              name: 'oid-42',
            },
          },
        ]);
        assert.deepEqual(usage?.relatedParty, [
          { id: SELLER, role: 'Seller', '@referredType': 'Organization' },
          { id: ACME, role: 'Buyer', '@referredType': 'Organization' },
        ]);
        assert.deepEqual(usage?.usageSpecification, { id: SPEC });
        if (put)
          assert.ok(tmf.requests.includes(`PUT /tmf-api/usageManagement/v4/usage/${usage?.id}`));
        const window = date - (date % WINDOW_MS);
        const bill = domeBill(tmf.usages, productId, window, window + WINDOW_MS);
        assert.ok(Math.abs(bill - PRICE * 3) < 1e-12, `billed ${bill}`);
        // Nothing more for that window, and no window without usage is sent.
        await f.proxy.marketplace?.usage.runNow();
        assert.equal(records().length, 1);
        // Counted where the admin API's records are counted.
        const metrics = (await request(`http://127.0.0.1:${opsPort}/metrics`)).body.toString();
        assert.match(metrics, /^accounting_proxy_usage_records_total\{result="accepted"\} 1$/m);
        assert.match(metrics, /^accounting_proxy_report_cycles_total\{result="sent"\} [1-9]/m);
      });

      test('an answer lost after the marketplace stored the record: sent once all the same', async () => {
        await startOfWindow();
        tmf.loseNextUsageAnswer = true;
        await calls(2);
        await eventually(() => total() === 5 && !tmf.loseNextUsageAnswer, WINDOW_MS * 4);
        // Retried: found by its marker (POST) or answered 409 (PUT); never stored twice.
        await f.proxy.marketplace?.usage.runNow();
        assert.equal(total(), 5);
        assert.equal(new Set(records().map((u) => u.id)).size, records().length);
        assert.deepEqual(tmf.invalid, []);
      });

      test('the usage API down for several windows: each window sent once when it is back', async () => {
        await tmf.goDown();
        for (let window = 0; window < 3; window++) {
          await startOfWindow();
          await calls(1);
        }
        const before = records().length;
        await tmf.comeBack();
        await eventually(() => total() === 8, WINDOW_MS * 6);
        await f.proxy.marketplace?.usage.runNow();
        const added = records().slice(before);
        assert.equal(added.length, 3);
        assert.equal(new Set(added.map((u) => u.id)).size, 3);
        assert.deepEqual(tmf.invalid, []);
      });
    });
  }
}
