import { type AccountingProxyError, proxyError } from '../errors.ts';
import { NoAnswerError } from './buffered-exchange.ts';

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export const errorCode = (error: Error): string | undefined => (error as { code?: string }).code;

/** What the client is told when an upstream (a backend, Orion) gave no usable answer. */
export function upstreamFailure(error: Error): AccountingProxyError {
  if (error instanceof NoAnswerError) {
    return proxyError(error.timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNREACHABLE');
  }
  const code = errorCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return proxyError('UPSTREAM_TIMEOUT');
  // undici refuses to send what it cannot frame (a path with bytes it rejects, say).
  if (code === 'UND_ERR_INVALID_ARG') return proxyError('REQUEST_NOT_FORWARDABLE', error.message);
  return proxyError('UPSTREAM_UNREACHABLE');
}
