/**
 * Server-Sent Events from a body's lines (a `lines` tap): `data:` fields joined by newlines,
 * dispatched at each blank line with the last `event:` name; comments (`:` keep-alives) and other
 * fields ignored, as the HTML standard's event-stream parsing does. An event the stream did not end
 * with a blank line is not dispatched.
 */
export class SseEvents {
  private readonly data: string[] = [];
  private event = '';

  constructor(private readonly onEvent: (event: string, data: string) => void) {}

  line(line: string): void {
    if (line === '') {
      const { data } = this;
      if (data.length > 0) {
        this.onEvent(
          this.event || 'message',
          data.length === 1 ? (data[0] ?? '') : data.join('\n'),
        );
      }
      data.length = 0;
      this.event = '';
      return;
    }
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
