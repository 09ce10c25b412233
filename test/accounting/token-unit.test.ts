/**
 * The `token` unit on the answers the LLM stand-in gives (OpenAI Chat Completions, Completions,
 * Embeddings, Responses; Anthropic Messages; JSON and SSE, plain and gzip'd), each cut at every
 * byte boundary: the exact total every time. And what it bills without usage.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as token from '../../acc_modules/token.ts';
import type { Exchange } from '../../src/accounting/module.ts';
import { ModuleFault } from '../../src/accounting/module-fault.ts';
import { createTapMemory, openTap, Tap, type TapResult } from '../../src/accounting/tap.ts';
import { type LlmApi, type LlmRequest, llmAnswer } from '../support/llm-backend.ts';

const memory = createTapMemory(1 << 30);
const request = { method: 'POST', url: '/v1/x', headers: {} };

/** What `count` answers for `body` fed to the unit's tap in the given pieces. */
async function billed(
  contentType: string,
  body: Buffer,
  cuts: number[],
  options: { status?: number; encoding?: string; clientGone?: boolean } = {},
): Promise<number | string> {
  const status = options.status ?? 200;
  const headers = {
    'content-type': contentType,
    ...(options.encoding ? { 'content-encoding': options.encoding } : {}),
  };
  const plan = token.tapResponse({ status, headers, request });
  let result: TapResult | undefined;
  if (plan) {
    const tap = openTap(plan, options.encoding, memory);
    assert.ok(tap instanceof Tap);
    let at = 0;
    for (const cut of [...cuts, body.length]) {
      tap.write(body.subarray(at, cut));
      at = cut;
    }
    result = await tap.finish(options.clientGone ?? false);
  }
  const exchange: Exchange = {
    request: { ...request, bytes: 0 },
    response: { status, headers, bytes: body.length, ...(result ? { tap: result } : {}) },
    elapsedMs: 1,
  };
  try {
    return token.count(exchange);
  } catch (error) {
    if (error instanceof ModuleFault) return error.reason;
    throw error;
  }
}

const chat: LlmRequest = { messages: [{ content: 'how is the weather in Madrid' }], max_tokens: 4 };
const cases: [string, LlmApi, LlmRequest][] = [
  ['Chat Completions JSON', 'chat', chat],
  [
    'Chat Completions stream',
    'chat',
    { ...chat, stream: true, stream_options: { include_usage: true } },
  ],
  [
    'Completions stream',
    'completions',
    {
      prompt: 'once upon a time',
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    },
  ],
  ['Embeddings JSON', 'embeddings', { input: ['one two', 'three four five'] }],
  ['Responses JSON', 'responses', { input: 'tell me a story', max_tokens: 6 }],
  ['Responses stream', 'responses', { input: 'tell me a story', max_tokens: 6, stream: true }],
  ['Anthropic Messages JSON', 'messages', chat],
  ['Anthropic Messages stream', 'messages', { ...chat, stream: true }],
];

describe('the token unit', () => {
  for (const [name, api, llmRequest] of cases) {
    test(`${name}: the exact total wherever the answer is cut, plain and gzip'd`, async () => {
      const answer = llmAnswer(api, llmRequest);
      assert.ok(answer.total > 0);
      const plain = Buffer.from(answer.body);
      for (let i = 0; i <= plain.length; i++) {
        assert.equal(await billed(answer.contentType, plain, [i]), answer.total, `cut at ${i}`);
      }
      const gzipped = gzipSync(plain);
      for (let i = 0; i <= gzipped.length; i++) {
        const total = await billed(answer.contentType, gzipped, [i], { encoding: 'gzip' });
        assert.equal(total, answer.total, `gzip cut at ${i}`);
      }
    });
  }

  test('the last usage of a stream wins, never a sum; CRLF, comments and keep-alives are no events', async () => {
    const stream = [
      ': keep-alive',
      'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
      '',
      ':',
      'data: {"choices":[],"usage":null}',
      '',
      'data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}',
      '',
      'data: [DONE]',
      '',
      '',
    ].join('\r\n');
    assert.equal(
      await billed('text/event-stream; charset=utf-8', Buffer.from(stream), [50, 51]),
      15,
    );
  });

  test('a 2xx without usage is the fault no_usage; other answers bill 0 unread', async () => {
    const noUsage = llmAnswer('chat', { ...chat, stream: true });
    assert.equal(noUsage.total, 0);
    assert.equal(await billed(noUsage.contentType, Buffer.from(noUsage.body), []), 'no_usage');
    assert.equal(await billed('text/plain', Buffer.from('hello'), []), 'no_usage');
    assert.equal(
      await billed('application/json', Buffer.from('{"error":{"message":"overloaded"}}'), [], {
        status: 529,
      }),
      0,
    );
    // A client that left before the usage chunk: nothing to bill from.
    const cut = llmAnswer('chat', {
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
    });
    const partial = Buffer.from(cut.beforeUsage);
    assert.equal(await billed(cut.contentType, partial, [], { clientGone: true }), 'no_usage');
  });

  test('a Responses stream whose final event is longer than the line limit: its usage from its end', async () => {
    const answer = llmAnswer('responses', {
      input: 'write a book',
      max_tokens: 40_000,
      stream: true,
    });
    const body = Buffer.from(answer.body);
    assert.ok(body.length > 600_000);
    const cuts = Array.from({ length: Math.floor(body.length / 9_973) }, (_, i) => (i + 1) * 9_973);
    assert.equal(await billed(answer.contentType, body, cuts), answer.total);
    assert.equal(await billed(answer.contentType, body, [body.length - 10]), answer.total);
  });

  test('a JSON answer of many megabytes is read from its last bytes', async () => {
    const inputs = Array.from({ length: 3000 }, (_, i) => `text number ${i}`);
    const answer = llmAnswer('embeddings', { input: inputs });
    const body = Buffer.from(answer.body);
    assert.ok(body.length > 2_000_000);
    const cuts = Array.from(
      { length: Math.floor(body.length / 16_384) },
      (_, i) => (i + 1) * 16_384,
    );
    assert.equal(await billed(answer.contentType, body, cuts), answer.total);
  });
});
