/**
 * Server-Sent Events from a body's lines (a `lines` tap): `data:` fields joined by newlines,
 * dispatched at each blank line with the last `event:` name; comments (`:` keep-alives) and other
 * fields ignored, as the HTML standard's event-stream parsing does. An event the stream did not end
 * with a blank line is not dispatched.
 */
export class SseEvents {
  private readonly data: string[] = [];
  private event = '';
  private truncated = false;

  /** `truncated`: a data line of the event came cut in the middle (a line over the tap's limit). */
  constructor(
    private readonly onEvent: (event: string, data: string, truncated: boolean) => void,
  ) {}

  line(line: string, truncated = false): void {
    if (line === '') {
      const { data } = this;
      if (data.length > 0) {
        const joined = data.length === 1 ? (data[0] ?? '') : data.join('\n');
        this.onEvent(this.event || 'message', joined, this.truncated);
      }
      data.length = 0;
      this.event = '';
      this.truncated = false;
      return;
    }
    if (truncated) this.truncated = true;
    // data: and event: are the fields that matter; comments (`:`) and the others are skipped.
    if (line.startsWith('data')) {
      if (line.length === 4) this.data.push('');
      else if (line.charCodeAt(4) === COLON) this.data.push(fieldValue(line, 5));
    } else if (line.startsWith('event:')) this.event = fieldValue(line, 6);
  }
}

const COLON = 0x3a;
const SPACE = 0x20;
/** A field's value: after its colon, less one leading space. */
const fieldValue = (line: string, from: number) =>
  line.slice(line.charCodeAt(from) === SPACE ? from + 1 : from);
