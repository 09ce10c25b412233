/**
 * What becomes of a line longer than the limit: `detach` stops the splitter (`overflowed`: what
 * follows cannot be trusted); `ends` keeps the line's first and last halves of the limit and hands
 * them on joined, marked truncated, in constant memory however long the line.
 */
export type LongLines = 'detach' | 'ends';

/**
 * A line as bytes: `bytes[start, end)`, without its line break. The buffer is the stream's chunk
 * when the line lies within one (nearly all), so a line nobody decodes costs no allocation. For
 * such a line the receiver may answer where in the chunk to go on splitting: the start of a line
 * past this one's break, the lines in between skipped unseen; any other answer is ignored.
 */
export type OnLine = (bytes: Buffer, start: number, end: number, truncated: boolean) => unknown;

/**
 * Splits a byte stream into lines the way Server-Sent Events and NDJSON end them (LF, CRLF or a
 * lone CR), wherever the chunks happen to be cut, a CRLF split across two chunks included. A line
 * cut between chunks is handed on joined, so a character cut between chunks is never broken (but
 * for the cut between the ends of a truncated line). A line holds at most `maxLine` bytes in memory.
 */
export class LineSplitter {
  // The line not ended yet, copied (the proxy frees a chunk once the client has it) into a buffer
  // of the splitter's own, reused: not from Node's Buffer pool, whose slabs outlive young
  // collections and wait for a full one, tens of megabytes on a fast stream.
  private partial = Buffer.alloc(0);
  private pendingBytes = 0;
  // A line over the limit (`ends`): its first half, and the latest bytes of the rest.
  private head: Buffer | undefined;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private afterCR = false;
  overflowed = false;

  constructor(
    private readonly onLine: OnLine,
    private readonly maxLine: number,
    private readonly longLines: LongLines = 'detach',
    /**
     * Called once a chunk's complete lines were handed on, before the splitter keeps the rest in
     * the buffer a joined line was handed on in: what a receiver holds of its lines must be
     * copied by then.
     */
    private readonly linesDone?: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    // The line breaks are found by Buffer's native search, not byte by byte in JavaScript.
    let lf = chunk.indexOf(0x0a);
    let cr = chunk.indexOf(0x0d);
    while ((lf !== -1 || cr !== -1) && !this.overflowed) {
      const i = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      const byte = chunk[i];
      if (i === lf) lf = chunk.indexOf(0x0a, i + 1);
      else cr = chunk.indexOf(0x0d, i + 1);
      // The LF of a CRLF whose CR ended the previous line.
      if (byte === 0x0a && this.afterCR && i === start && !this.inLine()) {
        this.afterCR = false;
        start = i + 1;
        continue;
      }
      const resume = this.emit(chunk, start, i);
      this.afterCR = byte === 0x0d;
      start = i + 1;
      if (typeof resume === 'number' && resume > start && resume <= chunk.length) {
        start = resume;
        // A line break the skip ended on may be the CR of a CRLF.
        this.afterCR = chunk[resume - 1] === 0x0d;
        lf = chunk.indexOf(0x0a, start);
        cr = chunk.indexOf(0x0d, start);
      }
    }
    this.linesDone?.();
    if (this.overflowed || start >= chunk.length) return;
    this.afterCR = false;
    this.keep(chunk.subarray(start));
  }

  /** The last line, if the stream did not end with a line break. */
  end(): void {
    if (!this.overflowed && this.inLine()) this.emit(Buffer.alloc(0), 0, 0);
  }

  private inLine(): boolean {
    return this.pendingBytes > 0 || this.head !== undefined;
  }

  /** Part of a line not ended yet. */
  private keep(piece: Buffer): void {
    if (this.head) {
      this.keepTail(piece);
      return;
    }
    if (this.pendingBytes + piece.length <= this.maxLine) {
      this.append(piece, 0, piece.length);
      return;
    }
    const all = Buffer.concat([this.partial.subarray(0, this.pendingBytes), piece]);
    // The ends of the long line take its place in memory.
    this.partial = Buffer.alloc(0);
    this.pendingBytes = 0;
    if (this.longLines === 'detach') {
      this.overflowed = true;
      return;
    }
    const half = Math.floor(this.maxLine / 2);
    this.head = Buffer.from(all.subarray(0, half));
    this.keepTail(all.subarray(half));
  }

  private append(source: Buffer, start: number, end: number): void {
    const needed = this.pendingBytes + end - start;
    if (needed > this.partial.length) {
      const size = Math.min(this.maxLine, Math.max(needed, 2 * this.partial.length, 256));
      const grown = Buffer.allocUnsafeSlow(size);
      this.partial.copy(grown, 0, 0, this.pendingBytes);
      this.partial = grown;
    }
    source.copy(this.partial, this.pendingBytes, start, end);
    this.pendingBytes = needed;
  }

  private keepTail(piece: Buffer): void {
    const half = Math.ceil(this.maxLine / 2);
    const kept = piece.length > half ? piece.subarray(piece.length - half) : piece;
    this.tail.push(Buffer.from(kept));
    this.tailBytes += kept.length;
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0]?.length ?? 0) >= half) {
      this.tailBytes -= this.tail.shift()?.length ?? 0;
    }
  }

  /**
   * The line ending at `end` of this chunk, after what earlier chunks left pending; where to go
   * on in the chunk, if the receiver of a line within it said.
   */
  private emit(chunk: Buffer, start: number, end: number): unknown {
    if (!this.head && this.pendingBytes + end - start > this.maxLine) {
      this.keep(chunk.subarray(start, end));
      if (this.overflowed) return;
    } else if (this.head) {
      this.keepTail(chunk.subarray(start, end));
    } else if (this.pendingBytes === 0) {
      // A line within one chunk (nearly all) is handed on in it, without a copy.
      return this.onLine(chunk, start, end, false);
    } else {
      this.append(chunk, start, end);
      const length = this.pendingBytes;
      this.pendingBytes = 0;
      // Where to go on would be an offset of the joined line, not of the chunk: not asked.
      this.onLine(this.partial, 0, length, false);
      return undefined;
    }
    const tail = Buffer.concat(this.tail);
    const last = tail.subarray(Math.max(0, tail.length - Math.ceil(this.maxLine / 2)));
    const ends = Buffer.concat([this.head ?? Buffer.alloc(0), last]);
    this.head = undefined;
    this.tail = [];
    this.tailBytes = 0;
    this.onLine(ends, 0, ends.length, true);
  }
}
