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
  let line = `,"requestId":${json(e.requestId)},"method":${json(e.method)},"path":${json(e.path)},"service":${json(e.service)},"status":${e.status},"outcome":${json(e.outcome)}`;
  if (e.code !== '') line += `,"code":${json(e.code)}`;
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

// Lines are joined into blocks of this size before they reach the destination: sonic-boom measures
// the byte length of its pending buffer on every write, which under load cost 4-6 µs a line
// against 1 µs for a block (bench/README.md, item 15).
const BLOCK_CHARS = 16 * 1024;

/**
 * The access log on stdout through pino's asynchronous destination: lines leave in blocks of 16 kB
 * and at least every second rather than with a write(2) each; a kill -9 loses at most the last
 * second of lines.
 */
export function stdoutAccessLog(now: () => number, bindings: Record<string, unknown> = {}) {
  const destination = pino.destination({ dest: 1, sync: false });
  let block: string[] = [];
  let blockChars = 0;
  const writeBlock = () => {
    if (block.length === 0) return;
    destination.write(block.join(''));
    block = [];
    blockChars = 0;
  };
  setInterval(writeBlock, 1000).unref();
  return createAccessLog({
    write: (line) => {
      block.push(line);
      blockChars += line.length;
      if (blockChars >= BLOCK_CHARS) writeBlock();
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
