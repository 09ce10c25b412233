/**
 * Bytes appended in pieces, kept whole up to `limit`; past it, only the first and the last halves
 * of the limit (`truncated`), in constant memory however much is appended. The storage grows with
 * what is kept and is reused after `clear`.
 */
export class KeptEnds {
  private head = Buffer.alloc(0);
  private headBytes = 0;
  // Past the limit: the latest bytes, in a ring written at `ringAt`.
  private ring: Buffer | undefined;
  private ringAt = 0;
  private ringFull = false;

  constructor(private readonly limit: number) {}

  get empty(): boolean {
    return this.headBytes === 0 && this.ring === undefined;
  }

  get truncated(): boolean {
    return this.ring !== undefined;
  }

  /** Bytes kept. */
  get size(): number {
    if (!this.ring) return this.headBytes;
    return this.headBytes + (this.ringFull ? this.ring.length : this.ringAt);
  }

  append(source: Buffer, start: number, end: number): void {
    if (!this.ring && this.headBytes + end - start <= this.limit) {
      this.reserve(this.headBytes + end - start);
      source.copy(this.head, this.headBytes, start, end);
      this.headBytes += end - start;
      return;
    }
    let from = start;
    if (!this.ring) {
      const half = Math.floor(this.limit / 2);
      this.ring = Buffer.allocUnsafeSlow(this.limit - half);
      if (this.headBytes > half) {
        this.toRing(this.head, half, this.headBytes);
        this.headBytes = half;
      } else {
        // The head's first half is filled from the piece that overflows.
        from = Math.min(end, start + half - this.headBytes);
        this.reserve(half);
        source.copy(this.head, this.headBytes, start, from);
        this.headBytes += from - start;
      }
      // The head keeps half the limit from now on: with the ring, the limit in all.
      if (this.head.length > half) {
        const head = Buffer.allocUnsafeSlow(half);
        this.head.copy(head, 0, 0, this.headBytes);
        this.head = head;
      }
    }
    this.toRing(source, from, end);
  }

  /** What is kept: all of it, or its first half and last half joined. */
  bytes(): Buffer {
    const head = this.head.subarray(0, this.headBytes);
    const ring = this.ring;
    if (!ring) return head;
    const tail = this.ringFull
      ? [ring.subarray(this.ringAt), ring.subarray(0, this.ringAt)]
      : [ring.subarray(0, this.ringAt)];
    return Buffer.concat([head, ...tail]);
  }

  clear(): void {
    this.headBytes = 0;
    this.ring = undefined;
    this.ringAt = 0;
    this.ringFull = false;
  }

  private reserve(bytes: number): void {
    if (bytes <= this.head.length) return;
    // Its own memory, not a slab of Node's Buffer pool that a long-lived buffer would pin.
    const grown = Buffer.allocUnsafeSlow(
      Math.min(this.limit, Math.max(bytes, this.head.length * 2, 256)),
    );
    this.head.copy(grown, 0, 0, this.headBytes);
    this.head = grown;
  }

  private toRing(source: Buffer, start: number, end: number): void {
    const ring = this.ring;
    if (!ring || start >= end) return;
    if (end - start >= ring.length) {
      source.copy(ring, 0, end - ring.length, end);
      this.ringAt = 0;
      this.ringFull = true;
      return;
    }
    for (let from = start; from < end; ) {
      const n = Math.min(end - from, ring.length - this.ringAt);
      source.copy(ring, this.ringAt, from, from + n);
      from += n;
      this.ringAt = (this.ringAt + n) % ring.length;
      if (this.ringAt === 0) this.ringFull = true;
    }
  }
}
