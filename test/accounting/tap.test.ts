/** Body taps on their own: framing, caps, decoding, the memory ceiling and a failing callback. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { KeptEnds } from '../../src/accounting/kept-ends.ts';
import { LineSplitter, type LongLines } from '../../src/accounting/line-splitter.ts';
import { SseEvents } from '../../src/accounting/sse.ts';
import {
  createTapMemory,
  openTap,
  Tap,
  type TapPlan,
  type TapResult,
} from '../../src/accounting/tap.ts';

/** A splitter handing on its lines decoded, as the `lines` framing does. */
const splitter = (
  onLine: (line: string, truncated: boolean) => void,
  maxLine: number,
  longLines?: LongLines,
) =>
  new LineSplitter(
    (bytes, start, end, truncated) => {
      onLine(bytes.toString('utf8', start, end), truncated);
    },
    maxLine,
    longLines,
  );

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
        const split = splitter((line) => lines.push(line), 1024);
        split.push(bytes.subarray(0, i));
        split.push(bytes.subarray(i, j));
        split.push(bytes.subarray(j));
        split.end();
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
        const split = splitter((line, cut) => lines.push([line, cut]), 32, 'ends');
        split.push(bytes.subarray(0, i));
        split.push(bytes.subarray(i, j));
        split.push(bytes.subarray(j));
        split.end();
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
    const split = splitter((line) => lines.push(line), 8);
    split.push(Buffer.from('short\n0123456'));
    split.push(Buffer.from('789\nafter\n'));
    assert.deepEqual(lines, ['short']);
    assert.equal(split.overflowed, true);
  });
});

describe('Server-Sent Events on the bytes', () => {
  const stream =
    ': keep-alive\r\n\r\nevent: ping\ndata: {"a":1}\n\n' +
    'data:first\r\ndata\ndata: third é€😀\rid: 7\n\n' +
    'event: usage\ndata: {"total_tokens":3}\n\ndata: no blank line after it';
  const everything = [
    ['{"a":1}', 'ping', false],
    ['first\n\nthird é€😀', 'message', false],
    ['{"total_tokens":3}', 'usage', false],
  ];

  /** The events of `text` cut in three pieces at `i` and `j`. */
  function events(text: string, i: number, j: number, containing?: string, maxData = 1024) {
    const bytes = Buffer.from(text);
    const seen: [string, string, boolean][] = [];
    const sse = new SseEvents((data, event, truncated) => seen.push([data, event, truncated]), {
      maxData,
      ...(containing ? { containing } : {}),
    });
    const split = new LineSplitter(sse.line, 1024, 'ends', sse.linesDone);
    // Each piece is a copy, wiped once split as the proxy frees a chunk the client has taken:
    // what the events keep must be their own.
    for (const [from, to] of [
      [0, i],
      [i, j],
      [j, bytes.length],
    ] as const) {
      const piece = Buffer.from(bytes.subarray(from, to));
      split.push(piece);
      piece.fill(0);
    }
    split.end();
    return seen;
  }

  test('dispatches each event at its blank line, wherever the stream is cut', () => {
    const length = Buffer.byteLength(stream);
    for (let i = 0; i <= length; i++) {
      for (const j of [i, Math.min(length, i + 1), Math.min(length, i + 7)]) {
        assert.deepEqual(events(stream, i, j), everything, `cut at ${i} and ${j}`);
      }
    }
  });

  test('with `containing`, hands on only the events whose data holds it, wherever cut', () => {
    const text = `${stream}\n\ndata: a\ndata: b_tokens"\n\ndata: x_tok\ndata: ens"\n\n`;
    const length = Buffer.byteLength(text);
    for (let i = 0; i <= length; i++) {
      for (const j of [i, Math.min(length, i + 3)]) {
        assert.deepEqual(
          events(text, i, j, '_tokens"'),
          [
            ['{"total_tokens":3}', 'usage', false],
            ['a\nb_tokens"', 'message', false],
          ],
          `cut at ${i} and ${j}`,
        );
      }
    }
  });

  test('with `containing`, skips unseen only events without it, whatever the line breaks', () => {
    // A seeded stream of events: LF, CRLF and CR breaks, comments, names, several data lines,
    // the needle in some. What `containing` hands on must be what a full parse filters.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const breaks = ['\n', '\r\n', '\r'];
    const parts: string[] = [];
    for (let n = 0; n < 400; n++) {
      const br = () => breaks[random(3)];
      if (random(5) === 0) parts.push(`: keep-alive ${n}${br()}`);
      if (random(4) === 0) parts.push(`event: e${n}${br()}`);
      for (let line = random(3); line >= 0; line--) {
        parts.push(`data: ${n}.${line}${random(9) === 0 ? ' "x_tokens":1' : ''}${br()}`);
      }
      parts.push(`id: ${n}${br()}${br()}`);
    }
    const text = parts.join('');
    const all = events(text, 0, 0);
    const expected = all.filter(([data]) => data.includes('_tokens"'));
    assert.ok(expected.length > 20 && expected.length < all.length / 2);
    const length = Buffer.byteLength(text);
    for (let round = 0; round < 200; round++) {
      const i = random(length);
      const j = i + random(length - i);
      assert.deepEqual(events(text, i, j, '_tokens"'), expected, `cut at ${i} and ${j}`);
    }
  });

  test('keeps the ends of data longer than its limit, over several lines', () => {
    const lines = Array.from({ length: 50 }, (_, n) => `data: line ${n}`).join('\n');
    const data = Array.from({ length: 50 }, (_, n) => `line ${n}`).join('\n');
    const [[kept, , truncated] = []] = events(`${lines}\n\n`, 10, 200, undefined, 40);
    assert.equal(kept, `${data.slice(0, 20)}${data.slice(-20)}`);
    assert.equal(truncated, true);
  });
});

describe('kept ends', () => {
  test('keep all up to the limit, then the first and last halves, however it is appended', () => {
    const bytes = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    for (let piece = 1; piece <= bytes.length; piece++) {
      for (const limit of [7, 10, 36, 50]) {
        const kept = new KeptEnds(limit);
        for (let at = 0; at < bytes.length; at += piece) {
          kept.append(bytes, at, Math.min(bytes.length, at + piece));
        }
        const expected =
          bytes.length <= limit
            ? bytes
            : Buffer.concat([
                bytes.subarray(0, Math.floor(limit / 2)),
                bytes.subarray(bytes.length - Math.ceil(limit / 2)),
              ]);
        assert.equal(kept.bytes().toString(), expected.toString(), `${piece} at a time, ${limit}`);
        assert.equal(kept.truncated, bytes.length > limit);
        kept.clear();
        kept.append(bytes, 0, 3);
        assert.equal(kept.bytes().toString(), '012');
      }
    }
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
