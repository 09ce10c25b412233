import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import type { AccountingModule, Exchange } from '../../src/accounting/module.ts';
import { request } from '../support/client.ts';
import { API_KEYS, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

const [sqlite] = storeBackends();

describe('what an accounting module is given', () => {
  const seen: Exchange[] = [];
  let f: ProxyFixture;
  before(async () => {
    const modules = await loadAccountingModules(['call', 'megabyte', 'millisecond']);
    const call = modules.get('call') as AccountingModule;
    modules.set('call', {
      ...call,
      count: (exchange) => {
        seen.push(exchange);
        return call.count(exchange);
      },
    });
    f = await startProxyFixture(sqlite?.database() ?? assert.fail(), {}, { modules });
  });
  after(() => f.close());

  test("the client's request as it arrived, not the headers the backend got", async () => {
    const response = await request(`${f.url}/svc/echo?q=1`, {
      method: 'POST',
      headers: {
        ...f.buyer(),
        'x-client': 'mine',
        'x-nick-name': 'forged',
        connection: 'x-hop',
        'x-hop': '1',
      },
      body: 'hello',
    });
    assert.equal(response.status, 200);
    const toBackend = response.json<{ headers: Record<string, string> }>().headers;
    assert.equal(toBackend['x-nick-name'], 'alice', 'the backend gets the identity headers');
    assert.equal(toBackend['x-api-key'], undefined);
    await f.proxy.recorder.drain();
    const [exchange] = seen;
    assert.equal(exchange?.request.method, 'POST');
    assert.equal(exchange?.request.url, '/svc/echo?q=1');
    assert.equal(exchange?.request.bytes, 5);
    const headers = exchange?.request.headers ?? {};
    assert.equal(headers['x-api-key'], API_KEYS.call);
    assert.equal(headers['x-auth-token'], 'alice-token');
    assert.equal(headers['x-client'], 'mine');
    assert.equal(headers['x-nick-name'], 'forged', 'as the client sent it');
    assert.equal(headers['x-hop'], '1', 'hop-by-hop headers too');
    assert.equal(headers['x-forwarded-for'], undefined);
    assert.equal(exchange?.response.status, 200);
  });
});
