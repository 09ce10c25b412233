/**
 * Server-Sent Events from a body's lines (a `lines` tap): `data:` fields joined by newlines,
 * dispatched at each blank line with the last `event:` name; comments (`:` keep-alives) and other
 * fields ignored, as the HTML standard's event-stream parsing does. An event the stream did not end
 * with a blank line is not dispatched.
 */
export class SseEvents {
  private data: string[] = [];
  private event = '';

  constructor(private readonly onEvent: (event: string, data: string) => void) {}

  line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.event || 'message', this.data.join('\n'));
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
