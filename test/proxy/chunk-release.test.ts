/** Freeing a relayed chunk once written: which chunks qualify, and in which order they go. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { ChunkRelease, releasableBuffer } from '../../src/proxy/chunk-release.ts';

const canRelease = (chunk: Buffer) => releasableBuffer(chunk) !== undefined;
const detachable = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

describe('chunk release', () => {
  test('frees the chunks that end their buffer, oldest first, once each is written', {
    skip: detachable ? false : 'no ArrayBuffer.prototype.transfer on this Node line',
  }, async () => {
    const read = Buffer.alloc(64 * 1024, 1);
    // What undici hands on of a chunked body: the body after the chunk's size line.
    const first = read.subarray(9);
    const second = Buffer.alloc(32 * 1024, 2);
    assert.ok(canRelease(first));
    // A socket that completes its writes when told, in order, as a real one does.
    const callbacks: (() => void)[] = [];
    const socket = new Writable({
      write(_chunk, _encoding, done) {
        callbacks.push(done);
      },
    });
    const release = new ChunkRelease();
    release.write(socket, first, releasableBuffer(first) ?? assert.fail());
    release.write(socket, second, releasableBuffer(second) ?? assert.fail());
    assert.equal(first.length, 64 * 1024 - 9, 'nothing is freed before it is written');
    callbacks.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(first.length, 0, 'the first written chunk is freed');
    assert.equal(second.length, 32 * 1024, 'the second is not written yet');
    callbacks.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second.length, 0);
  });

  test('never frees what others may still use', () => {
    const read = Buffer.alloc(64 * 1024);
    // More of the read follows the chunk (the next chunk's size line, another response).
    assert.equal(canRelease(read.subarray(0, 40 * 1024)), false);
    // Smaller chunks may be slices of Node's Buffer pool (64 KiB slabs on Node 24): the end of
    // one may be its slab's end, and the rest of the slab is other Buffers'.
    const slab = Buffer.allocUnsafe(8);
    assert.equal(canRelease(slab), false);
    // The largest pooled slice, as if it ended its slab.
    const slabEnd = new ArrayBuffer(Buffer.poolSize);
    const largest = (Buffer.poolSize >>> 1) - 1;
    const pooled = Buffer.from(slabEnd, Buffer.poolSize - largest, largest);
    assert.equal(canRelease(pooled), false);
    assert.equal(canRelease(Buffer.alloc(16 * 1024)), false);
    // Nor a slice of a larger pool some code asked for.
    const poolSize = Buffer.poolSize;
    Buffer.poolSize = 256 * 1024;
    try {
      assert.equal(canRelease(Buffer.alloc(64 * 1024)), false);
    } finally {
      Buffer.poolSize = poolSize;
    }
  });
});
