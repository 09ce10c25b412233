import { Transform, type TransformCallback } from 'node:stream';

/**
 * Counts response body bytes on their way to the client and holds the response's end until
 * `beforeEnd` (the usage commit) resolves. With a Content-Length the client knows the body is
 * complete at its last byte, so the chunk that completes it is held too; a chunked body is only
 * complete with its terminating chunk, which is written when this stream ends.
 */
export class ResponseMeter extends Transform {
  /** Body bytes received from the backend. */
  received = 0;
  #held: Buffer | undefined;
  readonly #expected: number | undefined;
  readonly #beforeEnd: (bytes: number) => Promise<void>;

  constructor(expectedBytes: number | undefined, beforeEnd: (bytes: number) => Promise<void>) {
    super();
    this.#expected = expectedBytes;
    this.#beforeEnd = beforeEnd;
  }

  /** Bytes passed on towards the client so far. */
  get forwarded(): number {
    return this.received - (this.#held?.length ?? 0);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.#expected !== undefined && this.received >= this.#expected) {
      this.#held = chunk;
      callback();
    } else {
      callback(null, chunk);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.#beforeEnd(this.received).then(
      () => callback(null, this.#held),
      (error: Error) => callback(error),
    );
  }
}
