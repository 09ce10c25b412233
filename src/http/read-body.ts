import type { IncomingMessage } from 'node:http';
import { proxyError } from '../errors.ts';

/** The whole body of a small request, or REQUEST_BODY_TOO_LARGE past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw proxyError('REQUEST_BODY_TOO_LARGE', `${Math.round(limit / 1024)} kB`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
