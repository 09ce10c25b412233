/**
 * The `token` unit through the proxy path on both stores, in front of the LLM API stand-in: the
 * client gets every answer byte for byte, and the buy is billed the exact tokens the API reported.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadAccountingModules } from '../../src/accounting/load-modules.ts';
import { eventually, request } from '../support/client.ts';
import { freePort } from '../support/free-port.ts';
import {
  type LlmApi,
  type LlmBackend,
  llmAnswer,
  startLlmBackend,
} from '../support/llm-backend.ts';
import { APP_ID, type ProxyFixture, startProxyFixture } from '../support/proxy-fixture.ts';
import { storeBackends } from '../support/store-backends.ts';

const PATHS: Record<LlmApi, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
  messages: '/v1/messages',
};

const backends = storeBackends();

/** The LLM stand-in behind a proxy that sells it as /llm, alice's buy `key-llm` in tokens. */
async function startLlmProxy(
  database: ReturnType<(typeof backends)[number]['database']>,
  env: Record<string, string> = {},
): Promise<{ llm: LlmBackend; f: ProxyFixture }> {
  const llm = await startLlmBackend();
  const modules = await loadAccountingModules(['call', 'megabyte', 'millisecond', 'token']);
  const f = await startProxyFixture(
    database,
    {
      ACCOUNTING_PROXY_MODULES: 'call,megabyte,millisecond,token',
      ACCOUNTING_PROXY_OPS_PORT: String(await freePort()),
      ...env,
    },
    { modules },
  );
  await f.store.addService({
    publicPath: '/llm',
    url: llm.url,
    appId: APP_ID,
    methods: ['POST'],
    isContextBroker: false,
  });
  await f.store.addBuy({
    ...{ apiKey: 'key-llm', publicPath: '/llm', orderId: 'o-llm', productId: 'p-llm' },
    ...{ customer: 'alice', unit: 'token', recordType: 'tokenusage' },
  });
  await f.proxy.routing.refresh();
  return { llm, f };
}
for (const backend of backends) {
  describe(`the token unit through the proxy on ${backend.name}`, () => {
    let llm: LlmBackend;
    let f: ProxyFixture;
    const buyer = { 'x-auth-token': 'alice-token', 'x-api-key': 'key-llm' };
    const pending = async () =>
      (await f.store.listUsage()).find((buy) => buy.apiKey === 'key-llm')?.pending ?? 0;

    before(async () => {
      ({ llm, f } = await startLlmProxy(backend.database()));
    });
    after(async () => {
      await f.close();
      await llm.close();
    });

    const ask = (api: LlmApi, body: object, query = '') =>
      request(`${f.url}/llm${PATHS[api]}${query}`, {
        method: 'POST',
        headers: { ...buyer, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    test('every API shape, streamed and not, gzip or not: the answer intact, the tokens exact', async () => {
      const prompt = {
        messages: [{ content: 'what is the forecast for tomorrow' }],
        max_tokens: 7,
      };
      const requests: [LlmApi, object, string][] = [
        ['chat', prompt, ''],
        ['chat', { ...prompt, stream: true, stream_options: { include_usage: true } }, ''],
        ['chat', { ...prompt, stream: true, stream_options: { include_usage: true } }, '?gzip=1'],
        [
          'completions',
          { prompt: 'a b c', stream: true, stream_options: { include_usage: true } },
          '',
        ],
        ['embeddings', { input: ['one', 'two three'] }, '?gzip=1'],
        ['responses', { input: 'tell a story', stream: true, max_tokens: 9 }, ''],
        ['responses', { input: 'tell a story' }, ''],
        ['messages', { ...prompt, stream: true }, ''],
        ['messages', prompt, '?gzip=1'],
      ];
      let expected = 0;
      for (const [api, body, query] of requests) {
        const answer = await ask(api, body, query);
        assert.equal(answer.status, 200, `${api}${query}`);
        const sent = llmAnswer(api, body);
        const received = query ? gunzipSync(answer.body) : answer.body;
        assert.equal(received.toString('utf8'), sent.body, `${api}${query}`);
        expected += sent.total;
        assert.equal(await pending(), expected, `${api}${query}`);
      }
    });

    test('an error answer bills nothing; a 2xx without usage bills 0 and counts no_usage', async () => {
      const before = await pending();
      assert.equal((await ask('chat', { model: 'overloaded' })).status, 529);
      assert.equal(
        (await ask('chat', { messages: [{ content: 'hi' }], stream: true })).status,
        200,
      );
      assert.equal(await pending(), before);
      const metrics = (await f.proxy.metrics?.text()) ?? '';
      assert.match(
        metrics,
        /accounting_proxy_meter_faults_total\{unit="token",reason="no_usage"\} 1/,
      );
    });

    test('a client that leaves before the usage chunk bills 0, and the proxy serves on', async () => {
      const before = await pending();
      const controller = new AbortController();
      const leaving = fetch(`${f.url}/llm/v1/chat/completions?hang=1`, {
        method: 'POST',
        headers: { ...buyer, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ content: 'x' }], stream: true, max_tokens: 50 }),
        signal: controller.signal,
      }).then(async (answer) => {
        const reader = answer.body?.getReader();
        await reader?.read();
        controller.abort();
      });
      await leaving.catch(() => {});
      await llm.hangAborted;
      await eventually(async () => {
        const metrics = (await f.proxy.metrics?.text()) ?? '';
        return /meter_faults_total\{unit="token",reason="no_usage"\} 2/.test(metrics);
      });
      assert.equal(await pending(), before);
      assert.equal((await ask('embeddings', { input: 'a b' })).status, 200);
      assert.equal(await pending(), before + 2);
    });
  });
}

describe('tap memory, on SQLite', () => {
  let llm: LlmBackend;
  let f: ProxyFixture;
  before(async () => {
    ({ llm, f } = await startLlmProxy(backends[0]?.database() ?? assert.fail('no SQLite'), {
      // Room for one SSE tap of the token unit (a line and an event's data, 128 KiB each) at a time.
      ACCOUNTING_PROXY_MODULE_MEMORY: String(2 * 128 * 1024 + 1000),
    }));
  });
  after(async () => {
    await f.close();
    await llm.close();
  });

  test('a tap of an exchange the backend broke off gives its memory back', async () => {
    const body = JSON.stringify({
      messages: [{ content: 'a b' }],
      stream: true,
      max_tokens: 3,
      stream_options: { include_usage: true },
    });
    const headers = {
      'x-auth-token': 'alice-token',
      'x-api-key': 'key-llm',
      'content-type': 'application/json',
    };
    for (let i = 0; i < 3; i++) {
      await request(`${f.url}/llm/v1/chat/completions?break=1`, {
        method: 'POST',
        headers,
        body,
      }).catch(() => undefined);
    }
    const answer = await request(`${f.url}/llm/v1/chat/completions`, {
      method: 'POST',
      headers,
      body,
    });
    assert.equal(answer.status, 200);
    await eventually(async () => {
      const buy = (await f.store.listUsage()).find((b) => b.apiKey === 'key-llm');
      return buy?.pending === 5;
    });
    const metrics = (await f.proxy.metrics?.text()) ?? '';
    assert.doesNotMatch(metrics, /reason="tap_refused"/);
  });
});
