import { KeptEnds } from './kept-ends.ts';
import type { OnLine } from './line-splitter.ts';

export type OnSseEvent = (data: string, event: string, truncated: boolean) => void;

const DATA = Buffer.from('data');
const EVENT = Buffer.from('event:');
const NEWLINE = Buffer.from('\n');
// A line break followed by another is a blank line, whatever the breaks (LF, CR, CRLF): LF LF,
// LF CR (CRLF CRLF among them) and CR CR. CR LF is one break.
const BLANK_LINES = ['\n\n', '\n\r', '\r\r'].map((blank) => Buffer.from(blank));
const COLON = 0x3a;
const SPACE = 0x20;

const startsWith = (bytes: Buffer, start: number, end: number, prefix: Buffer) =>
  end - start >= prefix.length &&
  bytes.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;

/** Where a field's value starts: after its colon, less one leading space. */
const valueStart = (bytes: Buffer, colon: number, end: number) =>
  colon + 1 < end && bytes[colon + 1] === SPACE ? colon + 2 : colon + 1;

/**
 * Server-Sent Events from a body's lines, parsed on their bytes: `data:` fields joined by
 * newlines, dispatched at each blank line with the last `event:` name; comments (`:` keep-alives)
 * and other fields ignored, as the HTML standard's event-stream parsing does. An event the stream
 * did not end with a blank line is not dispatched. With `containing`, only the events whose data
 * holds those bytes are decoded and handed on: a stream of a million text deltas and one usage
 * event makes one string, not a million (their garbage is what grew the heap of a tapped stream).
 */
export class SseEvents {
  // The event's first data line where it lies in its chunk, uncopied: most events have one data
  // line and end in the chunk they began in.
  private first: Buffer | undefined;
  private firstStart = 0;
  private firstEnd = 0;
  // The data of an event with several data lines, joined, kept up to `maxData` bytes.
  private readonly joined: KeptEnds;
  private name: Buffer | undefined;
  private nameStart = 0;
  private nameEnd = 0;
  // The name copied out of a chunk the event outlived (not from Node's Buffer pool: see the splitter).
  private nameKept: Buffer | undefined;
  private hasData = false;
  private matched = false;
  private truncated = false;
  private readonly needle: Buffer | undefined;
  // Where the needle next occurs in `searched` at or after `searchedFrom` (-1: nowhere).
  private searched: Buffer | undefined;
  private searchedFrom = 0;
  private nextAt = -1;

  constructor(
    private readonly onEvent: OnSseEvent,
    options: { maxData: number; containing?: string },
  ) {
    this.joined = new KeptEnds(options.maxData);
    this.needle = options.containing ? Buffer.from(options.containing) : undefined;
  }

  /** `truncated`: the line came cut in the middle (a line over the splitter's limit). */
  readonly line: OnLine = (bytes, start, end, truncated) => {
    if (start === end) {
      this.dispatch();
      return this.needle ? this.nextEventWorthReading(bytes, end) : undefined;
    }
    if (startsWith(bytes, start, end, DATA)) {
      if (end - start === DATA.length) this.data(bytes, end, end, truncated);
      else if (bytes[start + DATA.length] === COLON) {
        this.data(bytes, valueStart(bytes, start + DATA.length, end), end, truncated);
      }
    } else if (startsWith(bytes, start, end, EVENT)) {
      this.name = bytes;
      this.nameStart = valueStart(bytes, start + EVENT.length - 1, end);
      this.nameEnd = end;
    }
  };

  private data(bytes: Buffer, start: number, end: number, truncated: boolean): void {
    if (truncated) this.truncated = true;
    if (!this.matched) this.matched = this.contains(bytes, start, end);
    if (!this.hasData) {
      this.hasData = true;
      this.first = bytes;
      this.firstStart = start;
      this.firstEnd = end;
      return;
    }
    this.keepFirst();
    this.joined.append(NEWLINE, 0, 1);
    this.joined.append(bytes, start, end);
  }

  /**
   * The lines of a chunk were all handed on: what the event keeps of them is copied, since the
   * proxy frees a chunk once the client has it and the splitter reuses its buffer. One copy at
   * most per chunk, of the event it cut.
   */
  readonly linesDone = (): void => {
    this.keepFirst();
    // The splitter's buffer is written anew: what was searched in it no longer holds.
    this.searched = undefined;
    if (this.name && this.name !== this.nameKept) {
      this.nameKept = Buffer.allocUnsafeSlow(this.nameEnd - this.nameStart);
      this.name.copy(this.nameKept, 0, this.nameStart, this.nameEnd);
      this.name = this.nameKept;
      this.nameStart = 0;
      this.nameEnd = this.nameKept.length;
    }
  };

  private keepFirst(): void {
    const first = this.first;
    if (!first) return;
    this.joined.append(first, this.firstStart, this.firstEnd);
    this.first = undefined;
  }

  private dispatch(): void {
    if (this.hasData && this.matched) {
      const data = this.first
        ? this.first.toString('utf8', this.firstStart, this.firstEnd)
        : this.joined.bytes().toString('utf8');
      const event = this.name?.toString('utf8', this.nameStart, this.nameEnd) || 'message';
      this.onEvent(data, event, this.truncated || this.joined.truncated);
    }
    this.first = undefined;
    this.hasData = false;
    this.name = undefined;
    this.joined.clear();
    this.matched = false;
    this.truncated = false;
  }

  /**
   * Between events (a blank line ends at `from`): the events before the last blank line ahead of
   * the needle's next occurrence cannot hold it, and are skipped unseen. A stream of text deltas
   * and one usage event is then split a few lines per chunk, not a thousand.
   */
  private nextEventWorthReading(bytes: Buffer, from: number): number | undefined {
    const next = this.nextNeedle(bytes, from);
    const limit = next === -1 ? bytes.length : next;
    let resume = -1;
    for (const blank of BLANK_LINES) {
      const at = bytes.lastIndexOf(blank, limit - blank.length);
      if (at >= from) resume = Math.max(resume, at + blank.length);
    }
    return resume > from + 1 ? resume : undefined;
  }

  /** Whether `bytes[start, end)` holds the needle. */
  private contains(bytes: Buffer, start: number, end: number): boolean {
    const needle = this.needle;
    if (!needle) return true;
    const at = this.nextNeedle(bytes, start);
    return at !== -1 && at + needle.length <= end;
  }

  /** Where the needle next occurs in `bytes` from `start`: one native search per chunk. */
  private nextNeedle(bytes: Buffer, start: number): number {
    if (
      this.needle &&
      (bytes !== this.searched ||
        start < this.searchedFrom ||
        (this.nextAt !== -1 && this.nextAt < start))
    ) {
      this.searched = bytes;
      this.searchedFrom = start;
      this.nextAt = bytes.indexOf(this.needle, start);
    }
    return this.nextAt;
  }
}
