import type { Writable } from 'node:stream';

/**
 * Gives a relayed body chunk's memory back as soon as the client's socket has taken it. Each
 * socket read is a buffer of its own outside V8's heap, garbage once written on, yet freed only
 * when V8 collects the object that holds it; relaying 10 large streams at once, Node 22-26 held
 * tens of megabytes of such garbage (bench/README item 20). undici hands the body on as views of
 * the socket's reads: a chunk that ends where its read ends is the last of it anyone needs (what
 * came before it in the read is framing already parsed, or body written before it, and a socket
 * completes its writes in order), so its buffer is detached once the chunk is written
 * (`ArrayBuffer.prototype.transfer`, Node 21 and later), which frees it there and then. Never
 * while a tap may hold chunks: the caller asks only for exchanges whose taps copy what they keep.
 */

export interface Detachable {
  readonly detached: boolean;
  transfer(length: number): ArrayBuffer;
}

// A slice of Node's Buffer pool (a slab shared by Buffers all over the process; `Buffer.concat`
// takes from it when a socket had several reads waiting) is smaller than half the pool's size when
// it is made: 4 KiB by default on Node 20-22, 32 KiB on 24-26. A chunk of at least half the pool's
// size now, and never under half of the largest default, is never one. Smaller chunks are left to
// V8's collections.
const SMALLEST = 32 * 1024;
const canDetach = typeof (ArrayBuffer.prototype as Partial<Detachable>).transfer === 'function';

/** The buffer `chunk` ends, if it is one that can be freed once the chunk is written. */
export function releasableBuffer(chunk: Buffer): Detachable | undefined {
  const buffer = chunk.buffer;
  if (!canDetach || chunk.length < Math.max(SMALLEST, Buffer.poolSize >>> 1)) return undefined;
  if (chunk.byteOffset + chunk.length !== buffer.byteLength) return undefined;
  return buffer instanceof ArrayBuffer ? (buffer as unknown as Detachable) : undefined;
}

/** The chunks of one body written to the client and not taken yet, oldest first. */
export class ChunkRelease {
  private readonly writing: Detachable[] = [];

  /** Writes `chunk` to the client, its `releasableBuffer` freed once written; `write`'s answer. */
  write(res: Writable, chunk: Buffer, buffer: Detachable): boolean {
    this.writing.push(buffer);
    return res.write(chunk, this.written);
  }

  /** A socket calls its write callbacks in the order of the writes. */
  private readonly written = (): void => {
    const buffer = this.writing.shift();
    if (buffer && !buffer.detached) buffer.transfer(0);
  };
}
