import type { ServerResponse } from 'node:http';
import type { AccountingProxyError } from '../errors.ts';

/**
 * Every refusal is JSON `{"error": "…"}`, whatever part of the proxy refuses. Answers the body's
 * length in bytes.
 */
export function sendError(res: ServerResponse, error: AccountingProxyError): number {
  const body = JSON.stringify({ error: error.message });
  const length = Buffer.byteLength(body);
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': length,
  });
  res.end(body);
  return length;
}
