/** Body taps on their own: framing, caps, decoding, the memory ceiling and a failing callback. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { LineSplitter } from '../../src/accounting/line-splitter.ts';
import {
  createTapMemory,
  openTap,
  Tap,
  type TapPlan,
  type TapResult,
} from '../../src/accounting/tap.ts';

/** Feeds `body` cut at the given offsets and answers the tap's result. */
async function run(
  plan: TapPlan,
  body: Buffer,
  cuts: number[] = [],
  encoding?: string,
  memory = createTapMemory(1 << 30),
): Promise<TapResult> {
  const tap = openTap(plan, encoding, memory);
  if (!(tap instanceof Tap)) return tap;
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    tap.write(body.subarray(at, cut));
    at = cut;
  }
  return tap.finish(false);
}

describe('the line splitter', () => {
  const text = 'data: {"a":1}\r\n\r\n: keep-alive\n\ndata: é€😀\rlast';
  const expected = ['data: {"a":1}', '', ': keep-alive', '', 'data: é€😀', 'last'];

  test('gives the same lines wherever the stream is cut, in one, two or three pieces', () => {
    const bytes = Buffer.from(text);
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 3)]) {
        const lines: string[] = [];
        const splitter = new LineSplitter((line) => lines.push(line), 1024);
        splitter.push(bytes.subarray(0, i));
        splitter.push(bytes.subarray(i, j));
        splitter.push(bytes.subarray(j));
        splitter.end();
        assert.deepEqual(lines, expected, `cut at ${i} and ${j}`);
      }
    }
  });

  test('keeps the ends of a line longer than its limit, wherever the stream is cut', () => {
    const long = `data: ${'é'.repeat(5)}${'x'.repeat(60)}"usage":{"n":1}}`;
    const bytes = Buffer.from(`a\n${long}\r\nb\n`);
    const longBytes = Buffer.from(long);
    const expected = Buffer.concat([longBytes.subarray(0, 16), longBytes.subarray(-16)]).toString();
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 5), Math.min(bytes.length, i + 40)]) {
        const lines: [string, boolean][] = [];
        const splitter = new LineSplitter((line, cut) => lines.push([line, cut]), 32, 'ends');
        splitter.push(bytes.subarray(0, i));
        splitter.push(bytes.subarray(i, j));
        splitter.push(bytes.subarray(j));
        splitter.end();
        assert.deepEqual(
          lines,
          [
            ['a', false],
            [expected, true],
            ['b', false],
          ],
          `cut at ${i}, ${j}`,
        );
      }
    }
  });

  test('stops at a line longer than its limit', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 8);
    splitter.push(Buffer.from('short\n0123456'));
    splitter.push(Buffer.from('789\nafter\n'));
    assert.deepEqual(lines, ['short']);
    assert.equal(splitter.overflowed, true);
  });
});

describe('a tap', () => {
  const body = Buffer.from('line one\nline two\nline three\n');

  test('chunks, lines and buffered see the body as it passed', async () => {
    const chunks: Buffer[] = [];
    const lines: string[] = [];
    const chunked = await run(
      { framing: 'chunks', onChunk: (c) => chunks.push(Buffer.from(c)), result: () => 'seen' },
      body,
      [3, 10],
    );
    assert.deepEqual(chunked, { state: 'complete', scanned: body.length, value: 'seen' });
    assert.deepEqual(Buffer.concat(chunks), body);
    await run({ framing: 'lines', onLine: (l) => lines.push(l) }, body, [4, 5, 17]);
    assert.deepEqual(lines, ['line one', 'line two', 'line three']);
    const buffered = await run({ framing: 'buffered' }, body, [2]);
    assert.deepEqual(buffered.body, body);
    assert.equal(buffered.state, 'complete');
  });

  test('buffered keeps the first bytes and says so; scan detaches; a throwing callback fails', async () => {
    const truncated = await run({ framing: 'buffered', retain: 10 }, body, [4]);
    assert.equal(truncated.state, 'truncated');
    assert.equal(truncated.body?.toString(), 'line one\nl');
    const detached = await run({ framing: 'chunks', scan: 12, onChunk: () => {} }, body, [8]);
    assert.equal(detached.state, 'detached');
    assert.equal(detached.scanned, 8);
    const longLine = await run({ framing: 'lines', retain: 5, onLine: () => {} }, body);
    assert.equal(longLine.state, 'detached');
    const failed = await run(
      {
        framing: 'lines',
        onLine: () => {
          throw new Error('module bug');
        },
      },
      body,
    );
    assert.equal(failed.state, 'failed');
  });

  test('decodes gzip, deflate and br as they stream, the decoded bytes capped by scan', async () => {
    const large = Buffer.from('x'.repeat(100_000));
    for (const [encoding, encoded] of [
      ['gzip', gzipSync(large)],
      ['deflate', deflateSync(large)],
      ['br', brotliCompressSync(large)],
    ] as const) {
      const cuts = [1, 7, Math.floor(encoded.length / 2)];
      const result = await run(
        { framing: 'buffered', retain: 200_000, decode: true },
        encoded,
        cuts,
        encoding,
      );
      assert.deepEqual(result.body, large, encoding);
      const capped = await run(
        { framing: 'chunks', decode: true, scan: 50_000 },
        encoded,
        cuts,
        encoding,
      );
      assert.equal(capped.state, 'detached', encoding);
    }
    // A body that does not decode detaches the tap; the exchange is not concerned.
    const broken = await run(
      { framing: 'buffered', decode: true },
      Buffer.from('not gzip'),
      [],
      'gzip',
    );
    assert.equal(broken.state, 'detached');
    // Without decode, the bytes as they were sent.
    const raw = await run({ framing: 'buffered' }, gzipSync(body), [], 'gzip');
    assert.deepEqual(raw.body, gzipSync(body));
  });

  test('a tap that finds no memory left is not attached; finished taps give theirs back', async () => {
    const memory = createTapMemory(1000);
    const first = openTap({ framing: 'buffered', retain: 600 }, undefined, memory);
    assert.ok(first instanceof Tap);
    assert.deepEqual(openTap({ framing: 'buffered', retain: 600 }, undefined, memory), {
      state: 'refused',
      scanned: 0,
    });
    // Chunks hold nothing: always attached.
    assert.ok(openTap({ framing: 'chunks' }, undefined, memory) instanceof Tap);
    await first.finish(false);
    assert.ok(openTap({ framing: 'buffered', retain: 600 }, undefined, memory) instanceof Tap);
  });

  test('a client gone before the end leaves the tap incomplete', async () => {
    const tap = openTap(
      { framing: 'lines', onLine: () => {} },
      undefined,
      createTapMemory(1 << 20),
    );
    assert.ok(tap instanceof Tap);
    tap.write(Buffer.from('partial'));
    assert.equal((await tap.finish(true)).state, 'incomplete');
  });
});
