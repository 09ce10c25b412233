/**
 * The access log: one line per exchange, in pino's line format (level, time, bindings, fields,
 * msg), written through pino's own asynchronous destination. The line is built here rather than by
 * pino's generic serializer: its shape is fixed and it is written once per request, where pino
 * measured 12.6 µs a line (bench/README.md, item 15).
 */
import { pino } from 'pino';

export interface AccessEntry {
  requestId: string;
  method: string;
  path: string;
  service: string;
  status: number;
  outcome: string;
  /** Omitted when empty. */
  code: string;
  bytesIn: number;
  bytesOut: number;
  /** Written to the microsecond. */
  durationMs: number;
  upstreamMs: number | undefined;
  user: string | undefined;
  amount: number | undefined;
  unit: string | undefined;
  /** `false` when the client left before the last byte; omitted otherwise. */
  complete: boolean;
}

export interface AccessLog {
  write(entry: AccessEntry): void;
  /** Hands over what is buffered; resolves once it is written (at shutdown). */
  flush(): Promise<void>;
}

const LINE_START = '{"level":30,"time":';
const lineBindings = (bindings: Record<string, unknown>) =>
  Object.entries(bindings)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join('');

// Printable ASCII but `"` and `\`: such a string is its own JSON text between quotes.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// Set while a line is built when it may be beyond ASCII: a string needed JSON's escaping, or the
// bindings are.
let escaped = false;
const json = (text: string) => {
  if (PLAIN.test(text)) return `"${text}"`;
  escaped = true;
  return JSON.stringify(text);
};
// A number as JSON has it (none for NaN or the infinities).
const num = (value: number) => (Number.isFinite(value) ? value : 'null');
// ".001" to ".999" without trailing zeros, and "" for none: a duration is written from two
// small integers, which V8 turns into text from a cache, rather than from a double, which it
// formats digit by digit (bench/README.md, item 15).
const FRACTIONS = Array.from({ length: 1000 }, (_, i) =>
  i === 0 ? '' : `.${String(i).padStart(3, '0').replace(/0+$/, '')}`,
);
// Microseconds that stay a small integer (some 17 minutes); beyond, the general way.
const MAX_SMALL_MICROS = 2 ** 30 - 1;
/** Milliseconds to the microsecond. */
const millis = (value: number) => {
  const micros = Math.round(value * 1000);
  if (!(micros >= 0 && micros <= MAX_SMALL_MICROS)) return num(micros / 1000);
  const whole = Math.floor(micros / 1000);
  return `${whole}${FRACTIONS[micros - whole * 1000]}`;
};

function fields(e: AccessEntry): string {
  // The method (a token Node's parser accepted), the outcome and the code (ours) need no escaping.
  let line = `,"requestId":${json(e.requestId)},"method":"${e.method}","path":${json(e.path)},"service":${json(e.service)},"status":${e.status},"outcome":"${e.outcome}"`;
  if (e.code !== '') line += `,"code":"${e.code}"`;
  line += `,"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut},"durationMs":${millis(e.durationMs)}`;
  if (e.upstreamMs !== undefined) line += `,"upstreamMs":${millis(e.upstreamMs)}`;
  if (e.user !== undefined) line += `,"user":${json(e.user)}`;
  if (e.unit !== undefined) line += `,"amount":${num(e.amount ?? 0)},"unit":${json(e.unit)}`;
  if (!e.complete) line += ',"complete":false';
  return `${line},"msg":"exchange"}\n`;
}

// Lines are written into blocks of this many bytes and handed over a block at a time: one
// write(2) per fifty-odd lines rather than one each.
const BLOCK_BYTES = 16 * 1024;
// A UTF-16 code unit is at most 3 bytes of UTF-8.
const MAX_BYTES_PER_UNIT = 3;

/**
 * An access log that hands whole lines to `write`, a block of them at a time (when the next line
 * would not fit, and on `flush` or `handOver`); a line longer than `blockBytes` goes alone. `now`
 * gives the line's time in epoch milliseconds.
 */
export function createAccessLog(options: {
  write(bytes: Buffer): void;
  flush?(): Promise<void>;
  now(): number;
  bindings?: Record<string, unknown>;
  blockBytes?: number;
}): AccessLog & { handOver(): void } {
  const blockBytes = options.blockBytes ?? BLOCK_BYTES;
  // `service` is the exchange's field (its public path): the line names itself with `log`.
  const bound = lineBindings({ log: 'access', ...options.bindings });
  // JSON.stringify leaves non-ASCII as it is: such bindings make every line UTF-8.
  const boundAscii = /^[\x20-\x7e]*$/.test(bound);
  let block = Buffer.allocUnsafe(blockBytes);
  let used = 0;
  const handOver = () => {
    if (used === 0) return;
    options.write(block.subarray(0, used));
    block = Buffer.allocUnsafe(blockBytes);
    used = 0;
  };

  // The time's text, kept while the millisecond lasts: an epoch time is too large for V8's
  // cheap integer-to-text path, and lines come many to a millisecond under load.
  let lastTime = Number.NaN;
  let timeText = '';

  return {
    handOver,
    write(entry) {
      escaped = !boundAscii;
      const time = options.now();
      if (time !== lastTime) {
        lastTime = time;
        timeText = `${LINE_START}${num(time)}${bound}`;
      }
      const line = `${timeText}${fields(entry)}`;
      // Copied into the block at once: a line string kept until its block is written survives
      // scavenges (bench/README.md, item 15). Latin-1 is ASCII's own bytes, and the faster copy.
      const ascii = !escaped;
      const room = ascii ? line.length : line.length * MAX_BYTES_PER_UNIT;
      if (used + room > blockBytes) handOver();
      if (room > blockBytes) options.write(Buffer.from(line));
      else used += block.write(line, used, ascii ? 'latin1' : 'utf8');
    },
    flush: () => {
      handOver();
      return options.flush?.() ?? Promise.resolve();
    },
  };
}

/**
 * The access log on stdout through pino's asynchronous destination (in buffer mode, so that it
 * does not measure text it is given): lines leave in blocks of 16 kB and at least every second; a
 * kill -9 loses at most the last second of lines.
 */
export function stdoutAccessLog(now: () => number, bindings: Record<string, unknown> = {}) {
  const destination = pino.destination({ dest: 1, sync: false, contentMode: 'buffer' });
  // In buffer mode it takes Buffers; its types know the string mode only.
  const send = destination.write.bind(destination) as unknown as (bytes: Buffer) => boolean;
  const log = createAccessLog({
    write: send,
    flush: () =>
      new Promise<void>((resolve) => {
        // Resolves on drain; a broken stdout must not keep the shutdown waiting.
        const timer = setTimeout(resolve, 2000);
        destination.flush(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
    now,
    bindings,
  });
  setInterval(log.handOver, 1000).unref();
  return log;
}
