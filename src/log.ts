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
