/** The access line's bytes: JSON for any field value, whole lines in every block. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AccessEntry, createAccessLog } from '../../src/ops/access-log.ts';

const entry = (fields: Partial<AccessEntry> = {}): AccessEntry => ({
  requestId: 'req-1',
  method: 'GET',
  path: '/svc/echo',
  service: '/svc',
  status: 200,
  outcome: 'forwarded',
  code: '',
  bytesIn: 0,
  bytesOut: 100,
  durationMs: 1.25,
  upstreamMs: 0.5,
  user: 'alice',
  amount: 1,
  unit: 'call',
  complete: true,
  ...fields,
});

/** A log whose blocks are kept as they are handed over. */
function capture(blockBytes?: number) {
  const blocks: Buffer[] = [];
  const log = createAccessLog({
    write: (bytes) => void blocks.push(Buffer.from(bytes)),
    now: () => 1_764_600_000_123,
    bindings: { worker: 2 },
    ...(blockBytes === undefined ? {} : { blockBytes }),
  });
  const lines = () =>
    Buffer.concat(blocks)
      .toString()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, blocks, lines };
}

describe('access log lines', () => {
  test("pino's line format, fields in order, optional ones left out", async () => {
    const { log, blocks, lines } = capture();
    log.write(entry());
    log.write(entry({ code: 'API_KEY_INVALID', upstreamMs: undefined, user: undefined }));
    log.write(entry({ unit: undefined, amount: undefined, complete: false }));
    assert.equal(blocks.length, 0, 'held until the block is handed over');
    await log.flush();
    assert.equal(blocks.length, 1);
    const text = blocks[0]?.toString() ?? '';
    assert.equal(
      text.split('\n')[0],
      '{"level":30,"time":1764600000123,"log":"access","worker":2,"requestId":"req-1",' +
        '"method":"GET","path":"/svc/echo","service":"/svc","status":200,"outcome":"forwarded",' +
        '"bytesIn":0,"bytesOut":100,"durationMs":1.25,"upstreamMs":0.5,"user":"alice",' +
        '"amount":1,"unit":"call","msg":"exchange"}',
    );
    const [, second, third] = lines();
    assert.equal(second?.code, 'API_KEY_INVALID');
    assert.ok(!('upstreamMs' in (second ?? {})) && !('user' in (second ?? {})));
    assert.equal(third?.complete, false);
    assert.ok(!('unit' in (third ?? {})) && !('amount' in (third ?? {})));
  });

  test('each line has the time it was written', async () => {
    const times = [1_764_600_000_123, 1_764_600_000_123, 1_764_600_000_124, 5];
    const blocks: Buffer[] = [];
    const log = createAccessLog({
      write: (bytes) => void blocks.push(Buffer.from(bytes)),
      now: () => times.shift() ?? 0,
    });
    for (let i = 0; i < 4; i++) log.write(entry());
    await log.flush();
    const written = Buffer.concat(blocks).toString().trim().split('\n');
    assert.deepEqual(
      written.map((line) => (JSON.parse(line) as { time: number }).time),
      [1_764_600_000_123, 1_764_600_000_123, 1_764_600_000_124, 5],
    );
  });

  test('bindings beyond ASCII are written as UTF-8', async () => {
    const blocks: Buffer[] = [];
    const log = createAccessLog({
      write: (bytes) => void blocks.push(Buffer.from(bytes)),
      now: () => 1,
      bindings: { site: 'Zürich ☕' },
    });
    log.write(entry());
    await log.flush();
    const line = JSON.parse(Buffer.concat(blocks).toString()) as { site: string; user: string };
    assert.deepEqual([line.site, line.user], ['Zürich ☕', 'alice']);
  });

  test('any string is written as JSON reads it back', async () => {
    const strings = [
      'quote " and backslash \\',
      'control \u0000\u001f\n\t',
      'café ☕ 𝄞',
      'lone surrogate \ud800 end',
      '',
      'del \u007f',
    ];
    const { log, lines } = capture();
    for (const text of strings) log.write(entry({ path: text, user: text, requestId: text }));
    await log.flush();
    assert.deepEqual(
      lines().map((line) => [line.path, line.user, line.requestId]),
      strings.map((text) => [text, text, text].map((s) => JSON.parse(JSON.stringify(s)))),
    );
  });

  test('numbers: durations to the microsecond, any amount, no invalid JSON', async () => {
    const cases: [Partial<AccessEntry>, Record<string, unknown>][] = [
      [{ durationMs: 0 }, { durationMs: 0 }],
      [{ durationMs: 12.3456789 }, { durationMs: 12.346 }],
      [{ durationMs: 0.0004 }, { durationMs: 0 }],
      [{ durationMs: 9.9999 }, { durationMs: 10 }],
      [{ durationMs: 1.05 }, { durationMs: 1.05 }],
      [{ durationMs: 100_000.001 }, { durationMs: 100_000.001 }],
      [{ amount: 9.5367431640625e-7 }, { amount: 9.5367431640625e-7 }],
      [{ amount: 1e21 }, { amount: 1e21 }],
      [{ amount: -2 }, { amount: -2 }],
      [{ amount: Number.NaN }, { amount: null }],
      [{ bytesOut: 2 ** 53 - 1 }, { bytesOut: 2 ** 53 - 1 }],
      [{ bytesOut: 10_000_000_000 }, { bytesOut: 10_000_000_000 }],
      [{ status: 9 }, { status: 9 }],
    ];
    const { log, lines } = capture();
    for (const [fields] of cases) log.write(entry(fields));
    await log.flush();
    const written = lines();
    cases.forEach(([, expected], i) => {
      for (const [name, value] of Object.entries(expected)) {
        assert.equal(written[i]?.[name], value, `${name} of case ${i}`);
      }
    });
  });

  test('blocks end with whole lines; a line longer than a block goes alone', async () => {
    const { log, blocks, lines } = capture(1024);
    for (let i = 0; i < 50; i++) log.write(entry({ requestId: `req-${i}` }));
    log.write(entry({ path: `/${'\u0001'.repeat(2000)}` }));
    log.write(entry({ requestId: 'last' }));
    await log.flush();
    assert.ok(blocks.length > 5);
    for (const block of blocks) {
      assert.ok(block.length <= 1024 || block.toString().split('\n').length === 2);
      assert.equal(block.at(-1), 0x0a, 'a block ends with a whole line');
    }
    const written = lines();
    assert.deepEqual(
      written.map((line) => line.requestId),
      [...Array.from({ length: 50 }, (_, i) => `req-${i}`), 'req-1', 'last'],
    );
    assert.equal(written[50]?.path, `/${'\u0001'.repeat(2000)}`);
  });
});
