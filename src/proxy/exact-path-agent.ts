import { type ClientRequest, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * http-proxy joins and re-parses the outgoing path (collapsing `//`, escaping quotes and braces).
 * The proxy promises backends the client's bytes, so the exact path travels in this private header
 * and the agent puts it back as the request line's target before anything is sent.
 */
export const EXACT_PATH_HEADER = 'x-accounting-proxy-exact-path';

function restoreExactPath(request: ClientRequest): void {
  const exact = request.getHeader(EXACT_PATH_HEADER);
  if (typeof exact === 'string') {
    request.path = exact;
    request.removeHeader(EXACT_PATH_HEADER);
  }
}

export class ExactPathHttpAgent extends HttpAgent {
  addRequest(request: ClientRequest, options: object): void {
    restoreExactPath(request);
    // @ts-expect-error addRequest is public at run time but missing from @types/node's Agent.
    super.addRequest(request, options);
  }
}

export class ExactPathHttpsAgent extends HttpsAgent {
  addRequest(request: ClientRequest, options: object): void {
    restoreExactPath(request);
    // @ts-expect-error addRequest is public at run time but missing from @types/node's Agent.
    super.addRequest(request, options);
  }
}
