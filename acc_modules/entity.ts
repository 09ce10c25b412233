/**
 * The entities an NGSI query returns: the elements of the top-level JSON array of a 2xx answer
 * (Orion's `GET /v2/entities`, NGSI-LD's `GET /ngsi-ld/v1/entities`), counted by a streaming
 * scanner in constant memory, whatever the size of the answer. Not `Fiware-Total-Count`: that is
 * how many entities match, not how many were returned. An answer that is not an array bills 0.
 */
import type { Exchange, TapResponseHead } from '../src/accounting/module.ts';
import type { TapPlan } from '../src/accounting/tap.ts';
import { usageSpecificationFor } from '../src/accounting/usage-specification.ts';
import { isJsonMediaType, mediaTypeOf } from '../src/http/media-type.ts';

export const unit = 'entity';
export const usageSpecification = usageSpecificationFor(unit, 'Spec for NGSI entities returned');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/**
 * Counts the elements of a top-level JSON array from its bytes, chunk by chunk: only the nesting
 * depth and whether it is inside a string are kept. Structural characters are ASCII, so UTF-8 text
 * cut anywhere between chunks cannot confuse it.
 */
export class TopLevelArrayCounter {
  count = 0;
  private depth = 0;
  private started = false;
  private notArray = false;
  private inString = false;
  private escaped = false;
  private expectElement = false;

  push(chunk: Buffer): void {
    if (this.notArray) return;
    for (const byte of chunk) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (isSpace(byte)) continue;
      if (!this.started) {
        this.started = true;
        if (byte !== OPEN_ARRAY) {
          this.notArray = true;
          return;
        }
        this.depth = 1;
        this.expectElement = true;
        continue;
      }
      if (this.depth === 0) return;
      if (this.depth === 1 && this.expectElement && byte !== CLOSE_ARRAY) {
        this.count++;
        this.expectElement = false;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) this.depth++;
      else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) this.depth--;
      else if (byte === COMMA && this.depth === 1) this.expectElement = true;
    }
  }
}

export function tapResponse(head: TapResponseHead): TapPlan | undefined {
  const type = mediaTypeOf(head.headers['content-type']);
  if (head.status < 200 || head.status >= 300 || !isJsonMediaType(type)) return undefined;
  const counter = new TopLevelArrayCounter();
  return {
    framing: 'chunks',
    decode: true,
    onChunk: (chunk) => counter.push(chunk),
    result: () => counter.count,
  };
}

/** A client that left mid-answer pays for the entities it was sent whole or in part. */
export function count(exchange: Exchange): number {
  const value = exchange.response.tap?.value;
  return typeof value === 'number' ? value : 0;
}
