import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { LineSplitter, type LongLines } from './line-splitter.ts';
import { SseEvents } from './sse.ts';

/**
 * What a module asks to see of one body, decided per exchange on its head. The tap observes each
 * chunk after the proxy has passed it on; it never delays or changes the body.
 */
export interface TapPlan {
  /**
   * `chunks`: each chunk as it passes; `lines`: each line (LF, CRLF or CR; for NDJSON);
   * `events`: each Server-Sent Event; `buffered`: the first `retain` bytes, handed to `count` whole.
   */
  framing: 'chunks' | 'lines' | 'events' | 'buffered';
  /** Undo the body's Content-Encoding (gzip, deflate, br) before framing. */
  decode?: boolean;
  /**
   * Bytes the tap may hold at once (`buffered`: the body kept; `lines`: the longest line;
   * `chunks`: what the module's own observer keeps, default 0; `events`: the longest line, and
   * again the longest data of an event), taken from the process-wide
   * ACCOUNTING_PROXY_MODULE_MEMORY while the exchange lasts. Default 1 MiB.
   */
  retain?: number;
  /** Decoded bytes the tap looks at, at most; past them it detaches. Default: no limit. */
  scan?: number;
  /**
   * `lines`, `events`: a line longer than `retain` detaches the tap (`detach`, the default), or is
   * handed on as its first and last halves of `retain`, marked truncated (`ends`); an event's data
   * longer than `retain` is always handed on as its ends.
   */
  longLines?: LongLines;
  /**
   * `events`: only the events whose data holds this text are decoded and handed on; the others
   * cost no allocation at all, and their lines are skipped unseen (never too long either).
   */
  containing?: string;
  onChunk?(chunk: Buffer): void;
  onLine?(line: string, truncated: boolean): void;
  /** `events`: the event's data (its data lines joined), its name (`message` by default). */
  onEvent?(data: string, event: string, truncated: boolean): void;
  /** What `count` finds in the tap's result as `value`, read when the body ended. */
  result?(): unknown;
}

/**
 * How a tap ended: `complete` (it saw the whole body), `truncated` (`buffered` kept only the
 * first `retain` bytes), `detached` (past `scan`, a line over `retain`, or a body it could not
 * decode), `failed` (the module's own callback threw), `refused` (no memory left for it: not
 * attached), `incomplete` (the client left before the end).
 */
export type TapState = 'complete' | 'truncated' | 'detached' | 'failed' | 'refused' | 'incomplete';

export interface TapResult {
  state: TapState;
  /** Decoded bytes the tap looked at. */
  scanned: number;
  /** `buffered`: the bytes kept. */
  body?: Buffer;
  value?: unknown;
}

/** Bytes all taps of the process together may hold. */
export interface TapMemory {
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

export function createTapMemory(limitBytes: number): TapMemory {
  let used = 0;
  return {
    reserve(bytes) {
      if (used + bytes > limitBytes) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used -= bytes;
    },
  };
}

const DEFAULT_RETAIN = 1024 * 1024;
const MAX_DECODER_BACKLOG = 4 * 1024 * 1024;

// `chunks` keeps nothing itself: it reserves what the module says its observer holds. `events`
// holds a line and an event's data.
const reservationOf = (plan: TapPlan) => {
  if (plan.framing === 'chunks') return plan.retain ?? 0;
  const retain = plan.retain ?? DEFAULT_RETAIN;
  return plan.framing === 'events' ? 2 * retain : retain;
};

const decoderFor = (encoding: string | undefined) => {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
};

/** One body's tap: fed the chunks that passed, finished when the exchange ends. */
export class Tap {
  private state: TapState = 'complete';
  private scanned = 0;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private readonly lines: LineSplitter | undefined;
  private readonly events: SseEvents | undefined;
  private readonly decoder: ReturnType<typeof decoderFor>;
  private readonly decoded: Promise<void> | undefined;
  private readonly retain: number;

  constructor(
    private readonly plan: TapPlan,
    contentEncoding: string | undefined,
    private readonly memory: TapMemory,
  ) {
    this.retain = plan.retain ?? DEFAULT_RETAIN;
    if (plan.framing === 'lines') {
      this.lines = new LineSplitter(
        (bytes, start, end, truncated) =>
          this.call(() => plan.onLine?.(bytes.toString('utf8', start, end), truncated)),
        this.retain,
        plan.longLines,
      );
    } else if (plan.framing === 'events') {
      this.events = new SseEvents(
        (data, event, truncated) => this.call(() => plan.onEvent?.(data, event, truncated)),
        { maxData: this.retain, ...(plan.containing ? { containing: plan.containing } : {}) },
      );
      this.lines = new LineSplitter(
        this.events.line,
        this.retain,
        plan.longLines,
        this.events.linesDone,
      );
    }
    this.decoder = plan.decode ? decoderFor(contentEncoding) : undefined;
    if (this.decoder) {
      const decoder = this.decoder;
      decoder.on('data', (data: Buffer) => this.take(data));
      this.decoded = new Promise((resolve) => {
        decoder.once('end', resolve);
        decoder.once('error', () => {
          this.detach('detached');
          resolve();
        });
      });
    }
  }

  /**
   * Whether a chunk written to the tap may still be used after `write` returns: by a decoder
   * working off the event loop, or a module's own chunk observer. The splitters copy what they keep.
   */
  get holdsChunks(): boolean {
    return this.decoder !== undefined || this.plan.framing === 'chunks';
  }

  /** Memory the tap holds while it lives, reserved before it is attached. */
  get reservation(): number {
    return reservationOf(this.plan);
  }

  write(chunk: Buffer): void {
    if (this.state !== 'complete' && this.state !== 'truncated') return;
    if (!this.decoder) {
      this.take(chunk);
      return;
    }
    // The decoder works off the event loop; a body arriving faster than it decodes would pile up
    // in it without bound: past the backlog the tap detaches, and the module is told.
    if (this.decoder.writableLength > MAX_DECODER_BACKLOG) this.detach('detached');
    else this.decoder.write(chunk);
  }

  async finish(clientGone: boolean): Promise<TapResult> {
    if (this.decoder) {
      this.decoder.end();
      await this.decoded;
    }
    if (this.state === 'complete' || this.state === 'truncated') this.lines?.end();
    this.memory.release(this.reservation);
    if (clientGone && this.state === 'complete') this.state = 'incomplete';
    let value: unknown;
    if (this.plan.result) {
      this.call(() => {
        value = this.plan.result?.();
      });
    }
    return {
      state: this.state,
      scanned: this.scanned,
      ...(this.plan.framing === 'buffered' ? { body: Buffer.concat(this.kept) } : {}),
      ...(value === undefined ? {} : { value }),
    };
  }

  private take(data: Buffer): void {
    if (this.state !== 'complete' && this.state !== 'truncated') return;
    const scan = this.plan.scan ?? Number.POSITIVE_INFINITY;
    if (this.scanned + data.length > scan) {
      this.detach('detached');
      return;
    }
    this.scanned += data.length;
    switch (this.plan.framing) {
      case 'chunks':
        this.call(() => this.plan.onChunk?.(data));
        return;
      case 'lines':
      case 'events':
        this.lines?.push(data);
        if (this.lines?.overflowed) this.detach('detached');
        return;
      case 'buffered': {
        const room = this.retain - this.keptBytes;
        if (room <= 0) {
          this.state = 'truncated';
          return;
        }
        const piece = data.length > room ? data.subarray(0, room) : data;
        this.kept.push(Buffer.from(piece));
        this.keptBytes += piece.length;
        if (piece.length < data.length) this.state = 'truncated';
      }
    }
  }

  private call(callback: () => void): void {
    try {
      callback();
    } catch {
      this.detach('failed');
    }
  }

  private detach(state: TapState): void {
    this.state = state;
  }
}

/** A tap for the plan, or a refused result when the process has no memory left for it. */
export function openTap(
  plan: TapPlan,
  contentEncoding: string | undefined,
  memory: TapMemory,
): Tap | TapResult {
  if (!memory.reserve(reservationOf(plan))) return { state: 'refused', scanned: 0 };
  return new Tap(plan, contentEncoding, memory);
}
