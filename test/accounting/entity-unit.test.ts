/**
 * The `entity` unit: the elements of an NGSI answer's top-level array, counted exactly wherever
 * the answer is cut, on a 100 MB array in constant memory, and through the proxy on both stores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as entity from '../../acc_modules/entity.ts';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import { createTapMemory, openTap, Tap } from '../../src/accounting/tap.ts';
import { request } from '../support/client.ts';
import { listenOnLoopback, type TestServer } from '../support/http-server.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const countOf = (text: string, cuts: number[] = []) => {
  const counter = new entity.TopLevelArrayCounter();
  const bytes = Buffer.from(text);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    counter.push(bytes.subarray(at, cut));
    at = cut;
  }
  return counter.count;
};

/** One Orion v2 entity, with what could fool a careless scanner in its strings. */
const orionEntity = (i: number) =>
  JSON.stringify({
    id: `urn:ngsi-ld:Room:${i}`,
    type: 'Room',
    temperature: { type: 'Number', value: 21.5 + i, metadata: {} },
    note: { type: 'Text', value: `[not, an] {element}, "quoted" \\ é€😀 ${i}` },
    tags: { type: 'StructuredValue', value: [[1, 2], { a: [3] }] },
  });

describe('the entity counter', () => {
  test('counts the top-level elements wherever the answer is cut', () => {
    const text = ` [ ${[0, 1, 2].map(orionEntity).join(' ,\n')} ] `;
    for (let i = 0; i <= Buffer.byteLength(text); i++) {
      assert.equal(countOf(text, [i]), 3, `cut at ${i}`);
    }
    assert.equal(countOf('[]'), 0);
    assert.equal(countOf('[ ]'), 0);
    assert.equal(countOf('[1, "two", [3, 4], {"five": 5}, null]'), 5);
    // Not an array (an error answer, a GeoJSON FeatureCollection): nothing.
    assert.equal(countOf('{"error":"NotFound","description":"[1,2,3]"}'), 0);
  });

  test('counts a 100 MB array in constant memory', async () => {
    const plan = entity.tapResponse({
      status: 200,
      headers: { 'content-type': 'application/json' },
      request: { method: 'GET', url: '/v2/entities', headers: {} },
    });
    assert.ok(plan);
    const tap = openTap(plan, undefined, createTapMemory(1 << 20));
    assert.ok(tap instanceof Tap);
    const piece = Buffer.from(`${orionEntity(7)},`);
    const perChunk = Math.floor(65_536 / piece.length);
    const chunk = Buffer.concat(Array.from({ length: perChunk }, () => piece));
    const chunks = Math.ceil((100 * 1024 * 1024) / chunk.length);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = 0;
    tap.write(Buffer.from('['));
    for (let i = 0; i < chunks; i++) {
      tap.write(chunk);
      if (i % 100 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
    }
    tap.write(Buffer.from(`${orionEntity(8)}]`));
    const result = await tap.finish(false);
    assert.equal(result.scanned, 2 + chunks * chunk.length + Buffer.byteLength(orionEntity(8)));
    assert.ok(result.scanned > 100 * 1024 * 1024);
    assert.equal(result.value, chunks * perChunk + 1);
    assert.ok(peak < 16 * 1024 * 1024, `heap grew by ${(peak / 1e6).toFixed(1)} MB`);
  });
});

const backends = storeBackends();
for (const backend of backends) {
  describe(`the entity unit through the proxy on ${backend.name}`, () => {
    let orion: TestServer;
    let f: ProxyFixture;
    before(async () => {
      // Orion's GET /v2/entities: the page of entities, and how many match in all.
      orion = await listenOnLoopback((req, res) => {
        const limit = Number(
          new URL(req.url ?? '/', 'http://orion').searchParams.get('limit') ?? 20,
        );
        const body = `[${Array.from({ length: limit }, (_, i) => orionEntity(i)).join(',')}]`;
        res.writeHead(200, { 'content-type': 'application/json', 'fiware-total-count': '1000' });
        res.end(body);
      });
      const modules = await loadAccountingModules(['call', 'megabyte', 'millisecond', 'entity']);
      f = await startProxyFixture(
        backend.database(),
        { ACCOUNTING_PROXY_MODULES: 'call,megabyte,millisecond,entity' },
        { modules },
      );
      await f.store.addService({
        publicPath: '/orion',
        url: orion.url,
        appId: APP_ID,
        methods: ['GET'],
        isContextBroker: false,
      });
      await f.store.addBuy({
        ...{ apiKey: 'key-entity', publicPath: '/orion', orderId: 'o-e', productId: 'p-e' },
        ...{ customer: 'alice', unit: 'entity', recordType: 'entityusage' },
      });
      await f.proxy.routing.refresh();
    });
    after(async () => {
      await f.close();
      await orion.close();
    });

    test('bills the entities returned, not the total count', async () => {
      const headers = { 'x-auth-token': 'alice-token', 'x-api-key': 'key-entity' };
      for (const limit of [20, 3, 0, 500]) {
        const answer = await request(`${f.url}/orion/v2/entities?limit=${limit}`, { headers });
        assert.equal(answer.status, 200);
        assert.equal(JSON.parse(answer.body.toString()).length, limit);
      }
      const usage = (await f.store.listUsage()).find((buy) => buy.apiKey === 'key-entity');
      assert.equal(usage?.pending, 523);
    });
  });
}
