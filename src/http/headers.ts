import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// RFC 9110 §7.6.1 / RFC 7230 §6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  // Frames the body on this connection; the next hop frames it again (Node or undici).
  'transfer-encoding',
]);

const NONE: ReadonlySet<string> = new Set();

/** The header names the Connection header lists, lower-case. */
function connectionListed(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const connection = headers.connection;
  if (!connection) return NONE;
  const names = new Set<string>();
  for (const name of connection.split(',')) {
    const header = name.trim().toLowerCase();
    if (header) names.add(header);
  }
  return names;
}

/** A copy of `headers` without hop-by-hop fields (those the Connection header names too) nor `omit`. */
function endToEnd(
  headers: IncomingHttpHeaders,
  omit: ReadonlySet<string>,
): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const copy: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || omit.has(name)) continue;
    copy[name] = value;
  }
  return copy;
}

/**
 * The headers to send upstream for a client's request: its end-to-end headers without `omit`,
 * then `set` (which wins over what the client sent). The client's own object is left as it arrived.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  omit: ReadonlySet<string>,
  set: Readonly<OutgoingHttpHeaders>,
): OutgoingHttpHeaders {
  return Object.assign(endToEnd(incoming, omit), set);
}

/** The headers to relay to the client from an upstream answer: its end-to-end headers. */
export function downstreamResponseHeaders(incoming: IncomingHttpHeaders): IncomingHttpHeaders {
  return endToEnd(incoming, NONE);
}
