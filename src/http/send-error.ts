import type { ServerResponse } from 'node:http';
import type { AccountingProxyError } from '../errors.ts';

/** Every refusal is JSON `{"error": "…"}`, whatever part of the proxy refuses. */
export function sendError(res: ServerResponse, error: AccountingProxyError): void {
  const body = JSON.stringify({ error: error.message });
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
