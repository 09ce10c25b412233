/**
 * The access log: one line per exchange, in pino's line format (level, time, bindings, fields,
 * msg), written through pino's own asynchronous destination. The line is built here rather than by
 * pino's generic serializer: its shape is fixed and it is written once per request, where pino
 * measured 12.6 µs a line against 5 µs for this (bench/README.md, item 15).
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
  /** Resolves once what is buffered is written (at shutdown). */
  flush(): Promise<void>;
}

// Printable ASCII but `"` and `\`: such a string is its own JSON text between quotes.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const json = (text: string) => (PLAIN.test(text) ? `"${text}"` : JSON.stringify(text));

const LINE_START = '{"level":30,"time":';
const lineBindings = (bindings: Record<string, unknown>) =>
  Object.entries(bindings)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join('');

function fields(e: AccessEntry): string {
  // The method (a token Node's parser accepted), the outcome and the code (ours) need no escaping.
  let line = `,"requestId":${json(e.requestId)},"method":"${e.method}","path":${json(e.path)},"service":${json(e.service)},"status":${e.status},"outcome":"${e.outcome}"`;
  if (e.code !== '') line += `,"code":"${e.code}"`;
  line += `,"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut},"durationMs":${e.durationMs}`;
  if (e.upstreamMs !== undefined) line += `,"upstreamMs":${e.upstreamMs}`;
  if (e.user !== undefined) line += `,"user":${json(e.user)}`;
  if (e.unit !== undefined) line += `,"amount":${e.amount},"unit":${json(e.unit)}`;
  if (!e.complete) line += ',"complete":false';
  return `${line},"msg":"exchange"}\n`;
}

/**
 * An access log that hands each line to `write` (pino's destination, or a test's collector).
 * `now` gives the line's time in epoch milliseconds.
 */
export function createAccessLog(options: {
  write(line: string): void;
  flush?(): Promise<void>;
  now(): number;
  bindings?: Record<string, unknown>;
}): AccessLog {
  // `service` is the exchange's field (its public path): the line names itself with `log`.
  const bindings = { log: 'access', ...options.bindings };
  const bound = lineBindings(bindings);
  return {
    write(entry) {
      options.write(`${LINE_START}${options.now()}${bound}${fields(entry)}`);
    },
    flush: () => options.flush?.() ?? Promise.resolve(),
  };
}

// Lines are copied into blocks of this many bytes as they come, and the blocks handed to pino's
// destination in buffer mode: a line string kept until its block is written survives scavenges
// (its concatenation tree copied each time), and sonic-boom's string mode measures the byte length
// of its pending text on every write (bench/README.md, item 15).
const BLOCK_BYTES = 16 * 1024;
// A UTF-16 code unit is at most 3 bytes of UTF-8.
const MAX_BYTES_PER_UNIT = 3;

/**
 * The access log on stdout through pino's asynchronous destination: lines leave in blocks of 16 kB
 * and at least every second rather than with a write(2) each; a kill -9 loses at most the last
 * second of lines.
 */
export function stdoutAccessLog(now: () => number, bindings: Record<string, unknown> = {}) {
  const destination = pino.destination({ dest: 1, sync: false, contentMode: 'buffer' });
  // In buffer mode it takes Buffers; its types know the string mode only.
  const send = destination.write.bind(destination) as unknown as (bytes: Buffer) => boolean;
  let block = Buffer.allocUnsafe(BLOCK_BYTES);
  let used = 0;
  const writeBlock = () => {
    if (used === 0) return;
    send(block.subarray(0, used));
    block = Buffer.allocUnsafe(BLOCK_BYTES);
    used = 0;
  };
  setInterval(writeBlock, 1000).unref();
  return createAccessLog({
    write: (line) => {
      const room = line.length * MAX_BYTES_PER_UNIT;
      if (used + room > BLOCK_BYTES) writeBlock();
      if (room > BLOCK_BYTES) send(Buffer.from(line));
      else used += block.write(line, used);
    },
    flush: () =>
      new Promise<void>((resolve) => {
        writeBlock();
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
}
