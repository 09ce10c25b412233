import type { ServerResponse } from 'node:http';

/** Every refusal is JSON `{"error": "…"}`, whatever part of the proxy refuses. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
