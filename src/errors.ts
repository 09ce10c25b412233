/**
 * The one table of errors a user can see: a stable code, the HTTP status it maps to (or `exit`: it
 * stops a command or the start-up with exit code 1), and its message. CLI, admin API, proxy path
 * and start-up all raise errors from here, so the same fault reads the same everywhere.
 * docs/errors.md is generated from this table (`npm run docs:errors`); a test compares the two.
 */
import { errorEntries as table } from './error-table.ts';

export type ErrorCode = keyof typeof table;
type MessageArgs<C extends ErrorCode> = Parameters<(typeof table)[C]['message']>;
/** Codes whose message takes no arguments. */
export type FixedMessageCode = {
  [C in ErrorCode]: MessageArgs<C> extends [] ? C : never;
}[ErrorCode];

/** The one base class of the errors of the table; `cause` keeps what went wrong underneath. */
export class AccountingProxyError extends Error {
  override name = 'AccountingProxyError';
  constructor(
    readonly code: ErrorCode,
    /** The HTTP status; 500 for errors that only ever stop a command or the start-up. */
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The same error, remembering what caused it (for logs; clients see the message only). */
  causedBy(cause: unknown): this {
    this.cause = cause;
    return this;
  }
}

export function proxyError<C extends ErrorCode>(
  code: C,
  ...args: MessageArgs<C>
): AccountingProxyError {
  const entry: { status?: number; message: unknown } = table[code];
  const message = (entry.message as (...a: MessageArgs<C>) => string)(...args);
  return new AccountingProxyError(code, entry.status ?? 500, message);
}

/** Every entry of the table, for docs/errors.md. */
export function errorTable(): { code: ErrorCode; status?: number; message: string }[] {
  return (Object.entries(table) as [ErrorCode, (typeof table)[ErrorCode]][]).map(
    ([code, entry]) => {
      const render = entry.message as (...args: string[]) => string;
      // The parameter names of the message function, shown as <placeholders>.
      const params = /^\(?([^)=]*)\)?\s*=>/.exec(render.toString())?.[1] ?? '';
      const names = params
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      const message = render(...names.map((name) => `<${name}>`));
      return 'status' in entry ? { code, status: entry.status, message } : { code, message };
    },
  );
}

export function isProxyError(error: unknown, code?: ErrorCode): error is AccountingProxyError {
  return error instanceof AccountingProxyError && (code === undefined || error.code === code);
}
