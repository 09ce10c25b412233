/**
 * tmf4 mode: the proxy killed (-9) after the marketplace stored a usage record and before the
 * answer came back. The restarted proxy finds the record (POST: by its marker; PUT: 409) and does
 * not send it twice; nothing is lost. Both stores, the proxy as its own process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, request } from '../support/client.ts';
import { keyrockUser } from '../support/idm.ts';
import { databaseEnv, type ProxyProcess, startProxyProcess } from '../support/proxy-process.ts';
import { seedOneBuy } from '../support/seed.ts';
import { storeBackends } from '../support/store-backends.ts';
import { suiteServers } from '../support/suite-servers.ts';
import type { Json } from '../support/tmf/fake-tmf.ts';
import { FakeTmf } from '../support/tmf/fake-tmf.ts';

const OFFERING = 'urn:ngsi-ld:product-offering:o';
const POP = 'urn:ngsi-ld:product-offering-price:p';
const ACME = 'urn:ngsi-ld:organization:acme';
const SELLER = 'urn:ngsi-ld:organization:provider';
const PRODUCT = 'urn:ngsi-ld:product:killed';

const value = (usage: Json) => Number((usage.usageCharacteristic as { value: number }[])[0]?.value);

for (const backend of storeBackends()) {
  for (const put of [false, true]) {
    describe(`kill -9 while a usage record is being sent, ${backend.name}, ${put ? 'PUT' : 'POST'}`, () => {
      const servers = suiteServers();
      let tmf: FakeTmf;
      before(async () => {
        tmf = await new FakeTmf({ usagePut: put }).start();
        tmf.offerings.set(OFFERING, { id: OFFERING });
        tmf.prices.set(POP, {
          id: POP,
          priceType: 'usage',
          unitOfMeasure: { amount: 1, units: 'call' },
        });
        tmf.organizations.set(ACME, { id: ACME });
        tmf.organizations.set(SELLER, { id: SELLER });
        tmf.putProduct(
          {
            id: PRODUCT,
            status: 'active',
            productOffering: { id: OFFERING },
            productPrice: [{ productOfferingPrice: { id: POP } }],
            relatedParty: [
              { id: ACME, name: 'acme-idm', role: 'Buyer', '@referredType': 'Organization' },
            ],
          },
          { silently: true },
        );
        servers.idm.users.set('carol-token', {
          ...keyrockUser('carol', 'app-1'),
          organizations: [{ id: 'acme-idm', name: 'ACME', roles: [] }],
        });
      });
      after(() => tmf.stop());

      test('the record the marketplace stored is not sent again, and no usage is lost', async () => {
        const database = backend.database();
        const store = await seedOneBuy(database, servers.api.url);
        await store.setServiceCatalog('/svc', { offerings: [OFFERING], productSpecs: [] });
        const env = {
          ...databaseEnv(database),
          ACCOUNTING_PROXY_IDM_URL: servers.idm.url,
          ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
          ACCOUNTING_PROXY_TMF_URL: tmf.url,
          ACCOUNTING_PROXY_TMF_SELLER: SELLER,
          ACCOUNTING_PROXY_TMF_USAGE_WINDOW: '1000',
          ACCOUNTING_PROXY_TMF_USAGE_PUT: String(put),
          ACCOUNTING_PROXY_USAGE_RETRY: '100',
        };
        let proxy: ProxyProcess | undefined = await startProxyProcess(env);
        try {
          const carol = { 'x-auth-token': 'carol-token' };
          let served = 0;
          await eventually(async () => {
            const answer = await request(`${proxy?.url}/svc/echo/a`, { headers: carol });
            if (answer.status === 200) served++;
            return answer.status === 200;
          });
          for (let i = 0; i < 2; i++) {
            assert.equal(
              (await request(`${proxy.url}/svc/echo/a`, { headers: carol })).status,
              200,
            );
            served++;
          }
          tmf.stallNextUsageAnswer = true;
          await eventually(() => tmf.stalled.length === 1, 5000);
          proxy.child.kill('SIGKILL');
          await proxy.exited;
          const searches = () =>
            tmf.requests.filter((r) => r === 'GET /tmf-api/usageManagement/v4/usage').length;
          proxy = await startProxyProcess(env);
          await eventually(
            async () =>
              (await store.listUsage()).every(
                (b) => !b.terms || (b.outbox === undefined && b.pending === 0),
              ),
            10_000,
          );
          const usages = tmf.usages.filter((u) => JSON.stringify(u).includes(PRODUCT));
          assert.equal(
            usages.reduce((sum, u) => sum + value(u), 0),
            served,
          );
          // Each record once: a POSTed one is found by its marker, a PUT one is answered 409.
          assert.equal(new Set(usages.map((u) => u.description)).size, usages.length);
          assert.equal(new Set(usages.map((u) => u.id)).size, usages.length);
          if (!put) assert.ok(searches() >= 1, 'the restarted proxy looked for the record');
          assert.deepEqual(tmf.invalid, []);
        } finally {
          await proxy?.stop();
          await store.close();
        }
      });
    });
  }
}
