/**
 * The access log: one line per exchange, in pino's line format (level, time, bindings, fields,
 * msg), written through pino's own asynchronous destination. The line is encoded here rather than
 * by pino's generic serializer: its shape is fixed and it is written once per request, where pino
 * measured 12.6 µs a line (bench/README.md, item 15).
 */
import { pino } from 'pino';
import { lineBound, putAscii, putMillis, putNumber, putString } from './access-line.ts';

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

const lineBindings = (bindings: Record<string, unknown>) =>
  Object.entries(bindings)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join('');

// Lines are written into blocks of this many bytes and handed over a block at a time: one
// write(2) per fifty-odd lines rather than one each.
const BLOCK_BYTES = 16 * 1024;

const stringLengths = (e: AccessEntry) =>
  e.requestId.length +
  e.method.length +
  e.path.length +
  e.service.length +
  e.outcome.length +
  e.code.length +
  (e.user?.length ?? 0) +
  (e.unit?.length ?? 0);

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
  const fixedLength = bound.length;
  let block = Buffer.allocUnsafe(blockBytes);
  let used = 0;
  const handOver = () => {
    if (used === 0) return;
    options.write(block.subarray(0, used));
    block = Buffer.allocUnsafe(blockBytes);
    used = 0;
  };

  function encode(bytes: Buffer, start: number, e: AccessEntry): number {
    let at = putAscii(bytes, start, '{"level":30,"time":');
    at = putNumber(bytes, at, options.now());
    at = putAscii(bytes, at, bound);
    at = putString(bytes, putAscii(bytes, at, ',"requestId":'), e.requestId);
    at = putString(bytes, putAscii(bytes, at, ',"method":'), e.method);
    at = putString(bytes, putAscii(bytes, at, ',"path":'), e.path);
    at = putString(bytes, putAscii(bytes, at, ',"service":'), e.service);
    at = putNumber(bytes, putAscii(bytes, at, ',"status":'), e.status);
    at = putString(bytes, putAscii(bytes, at, ',"outcome":'), e.outcome);
    if (e.code !== '') at = putString(bytes, putAscii(bytes, at, ',"code":'), e.code);
    at = putNumber(bytes, putAscii(bytes, at, ',"bytesIn":'), e.bytesIn);
    at = putNumber(bytes, putAscii(bytes, at, ',"bytesOut":'), e.bytesOut);
    at = putMillis(bytes, putAscii(bytes, at, ',"durationMs":'), e.durationMs);
    if (e.upstreamMs !== undefined) {
      at = putMillis(bytes, putAscii(bytes, at, ',"upstreamMs":'), e.upstreamMs);
    }
    if (e.user !== undefined) at = putString(bytes, putAscii(bytes, at, ',"user":'), e.user);
    if (e.unit !== undefined) {
      at = putNumber(bytes, putAscii(bytes, at, ',"amount":'), e.amount ?? 0);
      at = putString(bytes, putAscii(bytes, at, ',"unit":'), e.unit);
    }
    if (!e.complete) at = putAscii(bytes, at, ',"complete":false');
    return putAscii(bytes, at, ',"msg":"exchange"}\n');
  }

  return {
    handOver,
    write(entry) {
      const room = fixedLength + lineBound(stringLengths(entry));
      if (used + room > blockBytes) handOver();
      if (room > blockBytes) {
        const alone = Buffer.allocUnsafe(room);
        options.write(alone.subarray(0, encode(alone, 0, entry)));
      } else {
        used = encode(block, used, entry);
      }
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
