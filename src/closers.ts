import type { Logger } from './log.ts';

/**
 * What a start-up opened, closed in reverse: the one teardown of every way out (a part that fails
 * to open, a stop, a second signal that cuts the grace period short). A part that fails to close
 * is logged and the others still close.
 */
export class Closers {
  private readonly stack: { part: string; close: () => Promise<unknown> | unknown }[] = [];

  constructor(private readonly log: Logger) {}

  /** Registers how to close a part just opened. */
  add(part: string, close: () => Promise<unknown> | unknown): void {
    this.stack.push({ part, close });
  }

  async closeAll(): Promise<void> {
    for (let next = this.stack.pop(); next; next = this.stack.pop()) {
      try {
        await next.close();
      } catch (error) {
        this.log.error({ err: (error as Error).message, part: next.part }, 'could not close');
      }
    }
  }
}
