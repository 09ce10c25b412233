import { Agent, request } from './undici-agent.ts';

export interface JsonResponse {
  status: number;
  /** The parsed JSON body; the text itself when it is not JSON; undefined when empty. */
  data: unknown;
}

export interface JsonClient {
  get(path: string, headers?: Record<string, string>): Promise<JsonResponse>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>;
  put(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>;
}

// Answers of the IdM and the usage API are small documents; anything larger is not theirs.
const MAX_RESPONSE_BYTES = 1024 * 1024;

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A client for a JSON service the proxy talks to (the IdM, the usage API): keep-alive
 * connections, one deadline for the whole exchange, no redirects followed, and every status
 * returned to the caller to judge. Network failures and timeouts reject.
 */
export function createJsonClient(options: { baseUrl: string; timeoutMs: number }): JsonClient {
  const dispatcher = new Agent({ maxResponseSize: MAX_RESPONSE_BYTES });
  const send = async (
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    headers: Record<string, string>,
    body: string | null,
  ): Promise<JsonResponse> => {
    const url = new URL(joinUrl(options.baseUrl, path));
    const response = await request(dispatcher, {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers: { accept: 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return { status: response.statusCode, data: parseBody(await response.body.text()) };
  };
  return {
    get: (path, headers = {}) => send('GET', path, headers, null),
    post: (path, body, headers = {}) =>
      send('POST', path, { 'content-type': 'application/json', ...headers }, JSON.stringify(body)),
    put: (path, body, headers = {}) =>
      send('PUT', path, { 'content-type': 'application/json', ...headers }, JSON.stringify(body)),
  };
}
