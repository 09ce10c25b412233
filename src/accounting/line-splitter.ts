/**
 * Splits a byte stream into lines the way Server-Sent Events and NDJSON end them (LF, CRLF or a
 * lone CR), wherever the chunks happen to be cut, a CRLF split across two chunks included. Lines
 * are decoded as UTF-8 whole, so a character cut between chunks is never broken. A line longer
 * than `maxLine` bytes stops the splitter (`overflowed`): what follows cannot be trusted.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private afterCR = false;
  overflowed = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine: number,
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
      if (byte === 0x0a && this.afterCR && i === start && this.pendingBytes === 0) {
        this.afterCR = false;
        start = i + 1;
        continue;
      }
      this.emit(chunk, start, i);
      this.afterCR = byte === 0x0d;
      start = i + 1;
    }
    if (this.overflowed || start >= chunk.length) return;
    this.afterCR = false;
    this.keep(chunk.subarray(start));
  }

  /** The last line, if the stream did not end with a line break. */
  end(): void {
    if (!this.overflowed && this.pendingBytes > 0) this.emit(Buffer.alloc(0), 0, 0);
  }

  private keep(piece: Buffer): void {
    this.pendingBytes += piece.length;
    if (this.pendingBytes > this.maxLine) {
      this.overflowed = true;
      this.pending = [];
      return;
    }
    // A copy: the chunk belongs to the stream, which may reuse its memory.
    this.pending.push(Buffer.from(piece));
  }

  /** The line ending at `end` of this chunk, after what earlier chunks left pending. */
  private emit(chunk: Buffer, start: number, end: number): void {
    if (this.pendingBytes + end - start > this.maxLine) {
      this.overflowed = true;
      this.pending = [];
      return;
    }
    // A line within one chunk (nearly all) is decoded from it directly, without a copy.
    if (this.pendingBytes === 0) {
      this.onLine(chunk.toString('utf8', start, end));
      return;
    }
    const whole = Buffer.concat([...this.pending, chunk.subarray(start, end)]);
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(whole.toString('utf8'));
  }
}
