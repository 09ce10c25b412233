import type { IncomingHttpHeaders } from 'node:http';

// RFC 9110 §7.6.1 / RFC 7230 §6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
];

/**
 * Removes the hop-by-hop headers, including those the Connection header names, in place.
 * Transfer-Encoding is left to the caller: it frames the body Node is about to re-frame.
 */
export function stripHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection) {
    for (const name of connection.split(',')) {
      const header = name.trim().toLowerCase();
      if (header) delete headers[header];
    }
  }
  // Most requests and answers carry none of these: a lookup costs less than a delete.
  for (const header of HOP_BY_HOP) if (headers[header] !== undefined) delete headers[header];
}
