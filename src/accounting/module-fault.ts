/** Reasons a module may give for a fault of its own: short snake_case words (metric labels). */
const REASON = /^[a-z][a-z0-9_]{0,31}$/;

/** What a module throws from `count` to name its fault (e.g. `no_usage`); its fallback is recorded. */
export class ModuleFault extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const moduleFault = (reason: string, message: string) => new ModuleFault(reason, message);

/** The reason an error names, when it is a module's own fault with a well-formed one. */
export const faultReasonOf = (error: unknown): string | undefined =>
  error instanceof ModuleFault && REASON.test(error.reason) ? error.reason : undefined;
