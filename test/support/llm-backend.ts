/**
 * An LLM API stand-in on 127.0.0.1 that answers as OpenAI's and Anthropic's APIs do, streamed
 * (Server-Sent Events, as their documentation shows them) or as one JSON document:
 * - POST /v1/chat/completions, /v1/completions (OpenAI; streams end with the `usage` chunk, then
 *   `data: [DONE]`, when `stream_options.include_usage` is set), /v1/embeddings;
 * - POST /v1/responses (the Responses API: `response.completed` carries `response.usage`);
 * - POST /v1/messages (Anthropic: `message_start` usage, then `message_delta` usage).
 * Token counts are a function of the request (words in, `max_tokens` out), so a test knows them.
 * `?gzip=1` compresses the answer; `?hang=1` stops a stream before its usage and keeps it open;
 * `?break=1` breaks the connection off there;
 * streams are written in small pieces, each its own chunk on the wire.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { listenOnLoopback, type TestServer } from './http-server.ts';

export interface LlmRequest {
  model?: string;
  messages?: { content: string }[];
  prompt?: string;
  input?: string | string[];
  max_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

export type LlmApi = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages';

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** Input and output tokens of a request, as the stand-in counts them. */
export function tokensOf(request: LlmRequest): { input: number; output: number } {
  const text = [
    ...(request.messages ?? []).map((m) => m.content),
    request.prompt ?? '',
    ...(Array.isArray(request.input) ? request.input : [request.input ?? '']),
  ].join(' ');
  return { input: words(text), output: request.max_tokens ?? 5 };
}

const sse = (events: [string | undefined, unknown][]) =>
  events
    .map(([event, data]) =>
      event
        ? `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
        : `data: ${JSON.stringify(data)}\n\n`,
    )
    .join('');

/** The whole answer the stand-in gives, and the total tokens a metering proxy must bill. */
export function llmAnswer(
  api: LlmApi,
  request: LlmRequest,
): { contentType: string; body: string; total: number; beforeUsage: string } {
  const { input, output } = tokensOf(request);
  const pieces = Array.from({ length: output }, (_, i) => `tok${i} `);
  const stream = request.stream === true && api !== 'embeddings';
  if (api === 'chat' || api === 'completions') {
    const usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
    if (!stream) {
      const choice =
        api === 'chat'
          ? {
              index: 0,
              message: { role: 'assistant', content: pieces.join('') },
              finish_reason: 'stop',
            }
          : { index: 0, text: pieces.join(''), finish_reason: 'stop' };
      const body = JSON.stringify({
        id: 'cmpl-1',
        object: 'chat.completion',
        choices: [choice],
        usage,
      });
      return { contentType: 'application/json', body, total: input + output, beforeUsage: body };
    }
    const include = request.stream_options?.include_usage === true;
    const chunks = pieces.map((piece) => [
      undefined,
      api === 'chat'
        ? {
            id: 'c',
            object: 'chat.completion.chunk',
            choices: [{ index: 0, delta: { content: piece } }],
            usage: null,
          }
        : { id: 'c', object: 'text_completion', choices: [{ index: 0, text: piece }], usage: null },
    ]) as [undefined, unknown][];
    const beforeUsage = sse(chunks);
    const tail = include ? sse([[undefined, { id: 'c', choices: [], usage }]]) : '';
    return {
      contentType: 'text/event-stream',
      body: `${beforeUsage}${tail}data: [DONE]\n\n`,
      total: include ? input + output : 0,
      beforeUsage,
    };
  }
  if (api === 'embeddings') {
    const inputs = Array.isArray(request.input) ? request.input : [request.input ?? ''];
    const data = inputs.map((_, index) => ({
      object: 'embedding',
      index,
      embedding: Array.from({ length: 64 }, (__, i) => Math.sin(index + i)),
    }));
    const body = JSON.stringify({
      object: 'list',
      data,
      model: 'embed',
      usage: { prompt_tokens: input, total_tokens: input },
    });
    return { contentType: 'application/json', body, total: input, beforeUsage: body };
  }
  if (api === 'responses') {
    const usage = { input_tokens: input, output_tokens: output, total_tokens: input + output };
    const response = {
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: pieces.join('') }] }],
      usage,
      metadata: {},
    };
    if (!stream) {
      const body = JSON.stringify(response);
      return { contentType: 'application/json', body, total: input + output, beforeUsage: body };
    }
    const beforeUsage = sse([
      [
        'response.created',
        {
          type: 'response.created',
          response: { ...response, status: 'in_progress', output: [], usage: null },
        },
      ],
      ...pieces.map(
        (delta) =>
          ['response.output_text.delta', { type: 'response.output_text.delta', delta }] as [
            string,
            unknown,
          ],
      ),
    ]);
    return {
      contentType: 'text/event-stream',
      body: `${beforeUsage}${sse([['response.completed', { type: 'response.completed', response }]])}`,
      total: input + output,
      beforeUsage,
    };
  }
  // Anthropic Messages: input and cache tokens at the start, output tokens at the end.
  const cache = { cache_creation_input_tokens: 2, cache_read_input_tokens: 3 };
  const total = input + output + 5;
  if (!stream) {
    const body = JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: pieces.join('') }],
      stop_reason: 'end_turn',
      usage: { input_tokens: input, output_tokens: output, ...cache },
    });
    return { contentType: 'application/json', body, total, beforeUsage: body };
  }
  const beforeUsage = sse([
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          content: [],
          usage: { input_tokens: input, output_tokens: 1, ...cache },
        },
      },
    ],
    [
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ],
    ['ping', { type: 'ping' }],
    ...pieces.map(
      (text) =>
        [
          'content_block_delta',
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
        ] as [string, unknown],
    ),
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ]);
  return {
    contentType: 'text/event-stream',
    body: `${beforeUsage}${sse([
      [
        'message_delta',
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn' },
          usage: { output_tokens: output },
        },
      ],
      ['message_stop', { type: 'message_stop' }],
    ])}`,
    total,
    beforeUsage,
  };
}

const API_OF: Record<string, LlmApi> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  '/v1/responses': 'responses',
  '/v1/messages': 'messages',
};

async function readJson(req: IncomingMessage): Promise<LlmRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as LlmRequest;
}

/** Writes in pieces of `size` bytes, each flushed as its own chunk. */
async function writeInPieces(res: ServerResponse, bytes: Buffer, size: number): Promise<void> {
  for (let at = 0; at < bytes.length && !res.destroyed; at += size) {
    res.write(bytes.subarray(at, at + size));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface LlmBackend extends TestServer {
  /** Resolves when a hanging stream's client has gone. */
  hangAborted: Promise<void>;
}

export async function startLlmBackend(): Promise<LlmBackend> {
  let aborted: () => void = () => {};
  const hangAborted = new Promise<void>((resolve) => {
    aborted = resolve;
  });
  const server = await listenOnLoopback((req, res) => {
    const url = new URL(req.url ?? '/', 'http://llm');
    const api = API_OF[url.pathname];
    if (req.method !== 'POST' || !api) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    void readJson(req).then(async (request) => {
      if (request.model === 'overloaded') {
        res.writeHead(529, { 'content-type': 'application/json' });
        res.end('{"type":"error","error":{"type":"overloaded_error"}}');
        return;
      }
      const answer = llmAnswer(api, request);
      const gzip = url.searchParams.get('gzip') === '1';
      const headers: Record<string, string> = { 'content-type': answer.contentType };
      if (gzip) headers['content-encoding'] = 'gzip';
      if (url.searchParams.get('break') === '1') {
        res.writeHead(200, headers);
        await writeInPieces(res, Buffer.from(answer.beforeUsage), 7);
        res.destroy();
        return;
      }
      if (url.searchParams.get('hang') === '1') {
        res.writeHead(200, headers);
        res.on('close', aborted);
        await writeInPieces(res, Buffer.from(answer.beforeUsage), 7);
        return;
      }
      const body = gzip ? gzipSync(answer.body) : Buffer.from(answer.body);
      if (answer.contentType === 'text/event-stream') {
        res.writeHead(200, headers);
        await writeInPieces(res, body, 13);
        res.end();
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
      res.end(body);
    });
  });
  return Object.assign(server, { hangAborted });
}
