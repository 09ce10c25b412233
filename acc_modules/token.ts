/**
 * The tokens an LLM API reports it used, read from its answers: OpenAI-compatible Chat
 * Completions, Completions and Embeddings (`usage.total_tokens`, in the JSON answer or the stream
 * chunk that carries it; the last one wins, never a sum), the Responses API (`response.completed`
 * → `response.usage`), and Anthropic Messages (`message_start` and `message_delta` usage merged
 * field by field; total = input + output + cache tokens). Only 2xx answers are read. A 2xx answer
 * without usage bills 0 as fault `no_usage`: the proxy never guesses tokens from characters.
 */

import type { Exchange, TapResponseHead } from '../src/accounting/module.ts';
import { moduleFault } from '../src/accounting/module-fault.ts';
import type { TapPlan } from '../src/accounting/tap.ts';
import { usageSpecificationFor } from '../src/accounting/usage-specification.ts';
import { isJsonMediaType, mediaTypeOf } from '../src/http/media-type.ts';

export const unit = 'token';
export const usageSpecification = usageSpecificationFor(unit, 'Spec for LLM token usage');

// A JSON answer's usage comes after its content: the last bytes are enough, however long the
// answer (embeddings of a large batch run to tens of megabytes).
const JSON_TAIL_BYTES = 64 * 1024;
// An SSE line is one event's data: a chunk of text, or (the Responses API's response.completed)
// the final response with all its output. A longer line comes as its first and last 64 KiB: its
// usage is at its end. Each tapped stream reserves twice this much (a line, an event's data) of
// ACCOUNTING_PROXY_MODULE_MEMORY.
const LONGEST_SSE_LINE = 128 * 1024;

type Usage = Record<string, unknown>;

const USAGE_OBJECT = /"usage"\s*:\s*\{/;

const tokens = (usage: Usage, field: string) => {
  const value = usage[field];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
};

/** The total of one usage object, by what its API calls it. */
function totalOf(usage: Usage): number | undefined {
  const total = usage.total_tokens;
  if (typeof total === 'number' && Number.isFinite(total) && total >= 0) return total;
  const fields = [
    'input_tokens',
    'output_tokens',
    'cache_creation_input_tokens',
    'cache_read_input_tokens',
    'prompt_tokens',
    'completion_tokens',
  ];
  if (!fields.some((field) => field in usage)) return undefined;
  return fields.reduce((sum, field) => sum + tokens(usage, field), 0);
}

const isUsage = (value: unknown): value is Usage =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The usage one streamed event tells, folded into what the stream told before. */
class StreamUsage {
  private last: number | undefined;
  // Anthropic: message_start's usage, then each message_delta's fields replacing it.
  private merged: Usage | undefined;

  event(data: string, truncated: boolean): void {
    // Most events carry no usage (`"usage":null`, or none): only those with one are parsed.
    if (!USAGE_OBJECT.test(data)) return;
    if (truncated) {
      // A final response too long to keep whole: its usage object is in the end kept.
      this.last = usageInTail(data) ?? this.last;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return;
    }
    if (!isUsage(json)) return;
    if (json.type === 'message_start' && isUsage(json.message) && isUsage(json.message.usage)) {
      this.merged = { ...json.message.usage };
    } else if (json.type === 'message_delta' && isUsage(json.usage)) {
      this.merged = { ...this.merged, ...json.usage };
    } else if (json.type === 'response.completed' && isUsage(json.response)) {
      if (isUsage(json.response.usage)) this.last = totalOf(json.response.usage) ?? this.last;
    } else if (isUsage(json.usage)) {
      this.last = totalOf(json.usage) ?? this.last;
    }
  }

  total(): number | undefined {
    return this.merged ? totalOf(this.merged) : this.last;
  }
}

/** The top-level `usage` object at the end of a JSON answer, from its last bytes. */
function usageInTail(tail: string): number | undefined {
  for (let at = tail.lastIndexOf('"usage"'); at !== -1; at = tail.lastIndexOf('"usage"', at - 1)) {
    const open = /^"usage"\s*:\s*\{/.exec(tail.slice(at, at + 64));
    if (!open) continue;
    const start = at + open[0].length - 1;
    let depth = 0;
    let inString = false;
    for (let i = start; i < tail.length; i++) {
      const c = tail[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try {
          const usage: unknown = JSON.parse(tail.slice(start, i + 1));
          return isUsage(usage) ? totalOf(usage) : undefined;
        } catch {
          break;
        }
      }
    }
  }
  return undefined;
}

export function tapResponse(head: TapResponseHead): TapPlan | undefined {
  if (head.status < 200 || head.status >= 300) return undefined;
  const type = mediaTypeOf(head.headers['content-type']);
  if (type === 'text/event-stream') {
    const usage = new StreamUsage();
    return {
      framing: 'events',
      decode: true,
      retain: LONGEST_SSE_LINE,
      longLines: 'ends',
      // Every usage object the unit can bill names a `…_tokens` field; a text delta cannot hold
      // those bytes unescaped. Other events are not decoded at all.
      containing: '_tokens"',
      onEvent: (data, _event, truncated) => usage.event(data, truncated),
      result: () => usage.total(),
    };
  }
  if (isJsonMediaType(type)) {
    const chunks: Buffer[] = [];
    let held = 0;
    return {
      framing: 'chunks',
      decode: true,
      retain: JSON_TAIL_BYTES * 2,
      onChunk(chunk) {
        chunks.push(Buffer.from(chunk));
        held += chunk.length;
        while (chunks.length > 1 && held - (chunks[0]?.length ?? 0) >= JSON_TAIL_BYTES) {
          held -= chunks.shift()?.length ?? 0;
        }
      },
      result: () => usageInTail(Buffer.concat(chunks).toString('utf8')),
    };
  }
  return undefined;
}

export function count(exchange: Exchange): number {
  const { status, tap } = exchange.response;
  if (status < 200 || status >= 300) return 0;
  if (typeof tap?.value === 'number') return tap.value;
  if (tap?.state === 'refused') {
    throw moduleFault('tap_refused', 'no tap memory left to read the answer');
  }
  throw moduleFault('no_usage', `a ${status} answer without usage (tap ${tap?.state ?? 'none'})`);
}
