/**
 * The adapter API's JSON-RPC layer over real HTTP and WebSocket clients: go-ethereum's framing,
 * error codes and texts, batches, notifications and subscriptions, and the listener's guards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  type AdapterListener,
  MAX_MESSAGE_BYTES,
  startAdapterListener,
} from '../../src/adapter/adapter-listener.ts';
import { createJsonRpcServer, RpcError, type RpcService } from '../../src/adapter/json-rpc.ts';
import { createLogger } from '../../src/log.ts';
import { request } from '../support/client.ts';

const service: RpcService = {
  namespace: 'sess',
  methods: {
    echo: {
      params: [{ type: 'string' }, { type: 'uint16' }, { type: 'bool', optional: true }],
      call: ([text, port, flag]) => ({ text, port, flag: flag ?? null }),
    },
    nothing: { params: [], call: () => undefined },
    refuse: {
      params: [],
      call: () => {
        throw new RpcError('non-active channel (1236228)');
      },
    },
  },
  subscriptions: {
    ticks: {
      params: [{ type: 'string' }],
      async start([label], notify) {
        if (label === 'no') throw new RpcError('access denied (1236224)');
        const timer = setInterval(() => notify({ channel: label, command: 'start' }), 5);
        return () => clearInterval(timer);
      },
    },
  },
};

/** A WebSocket client that collects every message it receives. */
async function connect(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const received: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    const next = waiting.shift();
    if (next) next(message);
    else received.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    send: (text: string) => ws.send(text),
    next: () =>
      new Promise<unknown>((resolve) => {
        const queued = received.shift();
        if (queued !== undefined) resolve(queued);
        else waiting.push(resolve);
      }),
    close: () => ws.close(),
  };
}

describe('adapter API JSON-RPC', () => {
  let listener: AdapterListener;
  let http: string;
  let wsUrl: string;
  before(async () => {
    listener = await startAdapterListener({
      rpc: createJsonRpcServer(service),
      port: 0,
      bind: '127.0.0.1',
      trusted: ['127.0.0.0/8', '::1/128'],
      origins: ['https://ui.example.org'],
      log: createLogger('silent'),
    });
    http = `http://127.0.0.1:${listener.port}/http`;
    wsUrl = `ws://127.0.0.1:${listener.port}/ws`;
  });
  after(() => listener.close());

  const post = async (body: string) => {
    const response = await request(http, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 200);
    return response.body.length ? JSON.parse(response.body.toString()) : undefined;
  };

  // Each request and the answer go-ethereum v1.9 gives it.
  const cases: [string, unknown][] = [
    [
      '{"jsonrpc":"2.0","id":1,"method":"sess_echo","params":["a",9000]}',
      { jsonrpc: '2.0', id: 1, result: { text: 'a', port: 9000, flag: null } },
    ],
    [
      '{"jsonrpc":"2.0","id":"x","method":"sess_echo","params":["a",1,true]}',
      { jsonrpc: '2.0', id: 'x', result: { text: 'a', port: 1, flag: true } },
    ],
    ['{"jsonrpc":"2.0","id":2,"method":"sess_nothing"}', { jsonrpc: '2.0', id: 2, result: null }],
    [
      '{"jsonrpc":"2.0","id":3,"method":"sess_refuse","params":[]}',
      { jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'non-active channel (1236228)' } },
    ],
    [
      '{"jsonrpc":"2.0","id":4,"method":"sess_missing","params":[]}',
      {
        jsonrpc: '2.0',
        id: 4,
        error: { code: -32601, message: 'the method sess_missing does not exist/is not available' },
      },
    ],
    [
      '{"jsonrpc":"2.0","id":5,"method":"sess_echo","params":{"a":1}}',
      { jsonrpc: '2.0', id: 5, error: { code: -32602, message: 'non-array args' } },
    ],
    [
      '{"jsonrpc":"2.0","id":6,"method":"sess_echo","params":["a"]}',
      {
        jsonrpc: '2.0',
        id: 6,
        error: { code: -32602, message: 'missing value for required argument 1' },
      },
    ],
    [
      '{"jsonrpc":"2.0","id":7,"method":"sess_echo","params":["a",1,true,4]}',
      {
        jsonrpc: '2.0',
        id: 7,
        error: { code: -32602, message: 'too many arguments, want at most 3' },
      },
    ],
    [
      '{"jsonrpc":"2.0","id":8,"method":"sess_echo","params":[1,1]}',
      {
        jsonrpc: '2.0',
        id: 8,
        error: {
          code: -32602,
          message: 'invalid argument 0: json: cannot unmarshal number into Go value of type string',
        },
      },
    ],
    [
      '{"jsonrpc":"2.0","id":9,"method":"sess_echo","params":["a",70000]}',
      {
        jsonrpc: '2.0',
        id: 9,
        error: {
          code: -32602,
          message:
            'invalid argument 1: json: cannot unmarshal number 70000 into Go value of type uint16',
        },
      },
    ],
    ['not json', { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }],
    ['[]', { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'empty batch' } }],
    ['42', { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } }],
    [
      '{"jsonrpc":"2.0","id":10}',
      { jsonrpc: '2.0', id: 10, error: { code: -32600, message: 'invalid request' } },
    ],
    [
      '{"jsonrpc":"2.0","id":{"x":1},"method":"sess_nothing"}',
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
    ],
    [
      '[{"jsonrpc":"2.0","id":1,"method":"sess_nothing"},{"jsonrpc":"2.0","method":"sess_nothing"},7]',
      [
        { jsonrpc: '2.0', id: 1, result: null },
        { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
      ],
    ],
    ['{"jsonrpc":"2.0","method":"sess_nothing"}', undefined],
    ['[{"jsonrpc":"2.0","method":"sess_missing"}]', undefined],
  ];

  test('HTTP POST /http answers every case as go-ethereum does', async () => {
    for (const [body, expected] of cases) assert.deepEqual(await post(body), expected, body);
  });

  test('WebSocket /ws answers the same, in order, and nothing to a notification', async () => {
    const client = await connect(wsUrl);
    try {
      for (const [body, expected] of cases) {
        client.send(body);
        // A marker call after each: what arrives before it is the case's answer, if any.
        client.send('{"jsonrpc":"2.0","id":"marker","method":"sess_nothing"}');
        if (expected !== undefined) assert.deepEqual(await client.next(), expected, body);
        assert.deepEqual(await client.next(), { jsonrpc: '2.0', id: 'marker', result: null }, body);
      }
    } finally {
      client.close();
    }
  });

  test('subscriptions: notifications on a WebSocket, framed as go-ethereum frames them; refused over HTTP', async () => {
    assert.deepEqual(
      await post('{"jsonrpc":"2.0","id":1,"method":"sess_subscribe","params":["ticks","a"]}'),
      { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'notifications not supported' } },
    );
    const client = await connect(wsUrl);
    try {
      client.send('{"jsonrpc":"2.0","id":1,"method":"sess_subscribe","params":["ticks","chan-1"]}');
      const subscribed = (await client.next()) as { result: string };
      assert.match(subscribed.result, /^0x[0-9a-f]{1,32}$/);
      assert.deepEqual(await client.next(), {
        jsonrpc: '2.0',
        method: 'sess_subscription',
        params: {
          subscription: subscribed.result,
          result: { channel: 'chan-1', command: 'start' },
        },
      });
      client.send('{"jsonrpc":"2.0","id":2,"method":"sess_subscribe","params":["other"]}');
      client.send('{"jsonrpc":"2.0","id":3,"method":"sess_subscribe","params":["ticks","no"]}');
      client.send(
        `{"jsonrpc":"2.0","id":4,"method":"sess_unsubscribe","params":["${subscribed.result}"]}`,
      );
      const answers = new Map<number, unknown>();
      while (answers.size < 3) {
        const message = (await client.next()) as { id?: number };
        if (message.id !== undefined) answers.set(message.id, message);
      }
      assert.deepEqual(answers.get(2), {
        jsonrpc: '2.0',
        id: 2,
        error: { code: -32601, message: 'no "other" subscription in sess namespace' },
      });
      assert.deepEqual(answers.get(3), {
        jsonrpc: '2.0',
        id: 3,
        error: { code: -32000, message: 'access denied (1236224)' },
      });
      assert.deepEqual(answers.get(4), { jsonrpc: '2.0', id: 4, result: true });
    } finally {
      client.close();
    }
  });

  test('a message over 64 KiB: 413 over HTTP, the WebSocket closed with 1009; the listener goes on', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'sess_echo',
      params: ['x'.repeat(MAX_MESSAGE_BYTES), 1],
    });
    const response = await request(http, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    assert.equal(response.status, 413);
    const client = await connect(wsUrl);
    const closed = new Promise<number>((resolve) => client.ws.once('close', resolve));
    client.send(big);
    assert.equal(await closed, 1009);
    assert.deepEqual(await post('{"jsonrpc":"2.0","id":1,"method":"sess_nothing"}'), {
      jsonrpc: '2.0',
      id: 1,
      result: null,
    });
  });

  test('wrong path, method or content type get JSON errors; browser origins must be listed', async () => {
    const notFound = await request(`http://127.0.0.1:${listener.port}/other`);
    assert.equal(notFound.status, 404);
    assert.match(notFound.json().error as string, /^Not found: JSON-RPC is at/);
    const get = await request(http);
    assert.equal(get.status, 405);
    const text = await request(http, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    assert.equal(text.status, 415);
    assert.deepEqual(text.json(), {
      error: 'invalid content type, only application/json is supported',
    });
    await assert.rejects(connect(wsUrl, { origin: 'https://evil.example.org' }), /403/);
    const allowed = await connect(wsUrl, { origin: 'https://ui.example.org' });
    allowed.close();
  });
});

describe('adapter API from an address that is not trusted', () => {
  let listener: AdapterListener;
  before(async () => {
    listener = await startAdapterListener({
      rpc: createJsonRpcServer(service),
      port: 0,
      bind: '127.0.0.1',
      trusted: ['10.0.0.0/8'],
      origins: [],
      log: createLogger('silent'),
    });
  });
  after(() => listener.close());

  test('HTTP gets 403 JSON, a WebSocket upgrade is refused', async () => {
    const refused = await request(`http://127.0.0.1:${listener.port}/http`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"sess_nothing"}',
    });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json(), {
      error: 'Adapter API refused for 127.0.0.1: not in ACCOUNTING_PROXY_ADAPTER_TRUSTED',
    });
    await assert.rejects(connect(`ws://127.0.0.1:${listener.port}/ws`), /403/);
  });
});
