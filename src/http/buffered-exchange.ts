import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface BufferedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Error for a request that got no answer: refused, reset, or silent past the timeout. */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError';
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/**
 * One small request with its whole answer, for subscription calls and notifications (JSON
 * documents of a few kB, unlike the streamed proxy path). Answers over `maxBytes` are cut off.
 */
export function exchange(
  url: string,
  options: {
    method: string;
    headers: OutgoingHttpHeaders;
    body?: Buffer;
    timeoutMs: number;
    maxBytes?: number;
    lookup?: LookupFunction;
  },
): Promise<BufferedResponse> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  const limit = options.maxBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const target = {
      method: options.method,
      headers: options.headers,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
    const req = send(url, target, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limit) chunks.push(chunk);
      });
      res.on('error', (error) => reject(new NoAnswerError(error.message, false)));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 502,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.setTimeout(options.timeoutMs, () => req.destroy(new NoAnswerError('timed out', true)));
    req.on('error', (error) =>
      reject(error instanceof NoAnswerError ? error : new NoAnswerError(error.message, false)),
    );
    req.end(options.body);
  });
}
