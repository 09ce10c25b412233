import { type Logger, pino } from 'pino';
import type { LogLevel } from '../config.ts';

export type { Logger };

/** JSON lines on stdout. Credentials never reach a log line: callers log ids and digests only. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'accounting-proxy' },
    redact: {
      paths: [
        'token',
        'apiKey',
        'headers.authorization',
        'headers["x-auth-token"]',
        'headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  });
}

/**
 * The access log: one line per exchange, on stdout through an asynchronous writer so that a line
 * per request does not cost a write(2) on the proxy path; `flush()` at shutdown.
 */
export function createAccessLogger(bindings: Record<string, unknown> = {}): Logger {
  return pino(
    { base: { service: 'accounting-proxy', log: 'access', ...bindings } },
    pino.destination({ dest: 1, sync: false }),
  );
}
