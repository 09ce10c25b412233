import { KeptEnds } from './kept-ends.ts';

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
  // The line not ended yet, copied (the proxy frees a chunk once the client has it) into memory of
  // the splitter's own, reused: not from Node's Buffer pool, whose slabs outlive young
  // collections and wait for a full one, tens of megabytes on a fast stream. Past `maxLine`
  // (`ends`) it keeps the line's first and last halves.
  private readonly line: KeptEnds;
  private afterCR = false;
  overflowed = false;

  constructor(
    private readonly onLine: OnLine,
    private readonly maxLine: number,
    private readonly longLines: LongLines = 'detach',
    /**
     * Called once a chunk's complete lines were handed on, before the splitter keeps the rest in
     * the memory a joined line was handed on in: what a receiver holds of its lines must be
     * copied by then.
     */
    private readonly linesDone?: () => void,
  ) {
    this.line = new KeptEnds(maxLine);
  }

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
      if (byte === 0x0a && this.afterCR && i === start && this.line.empty) {
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
    this.keep(chunk, start, chunk.length);
  }

  /** The last line, if the stream did not end with a line break. */
  end(): void {
    if (!this.overflowed && !this.line.empty) this.emit(Buffer.alloc(0), 0, 0);
  }

  /** Part of a line not ended yet; past `maxLine`, `detach` stops the splitter. */
  private keep(chunk: Buffer, start: number, end: number): void {
    if (this.longLines === 'detach' && this.line.size + end - start > this.maxLine) {
      this.overflowed = true;
      return;
    }
    this.line.append(chunk, start, end);
  }

  /**
   * The line ending at `end` of this chunk, after what earlier chunks left pending; where to go
   * on in the chunk, if the receiver of a line within it said.
   */
  private emit(chunk: Buffer, start: number, end: number): unknown {
    // A line within one chunk (nearly all) is handed on in it, without a copy.
    if (this.line.empty && end - start <= this.maxLine) {
      return this.onLine(chunk, start, end, false);
    }
    this.keep(chunk, start, end);
    if (this.overflowed) return undefined;
    const truncated = this.line.truncated;
    const bytes = this.line.bytes();
    this.line.clear();
    // Where to go on would be an offset of the joined line, not of the chunk: not asked.
    this.onLine(bytes, 0, bytes.length, truncated);
    return undefined;
  }
}
