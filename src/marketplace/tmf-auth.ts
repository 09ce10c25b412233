/**
 * How the proxy authenticates to the marketplace's TMF APIs: not at all, a static bearer token, or
 * an OAuth2 client-credentials token fetched when needed, kept until shortly before it expires,
 * one fetch at a time. Secrets go into headers and request bodies only, never into a message.
 */
import type { TmfConfig } from '../config/tmf.ts';
import { Agent, request } from '../http/undici-agent.ts';

export type AuthHeaders = () => Promise<Record<string, string>>;

// A token is renewed this long before the expiry the server announced.
const EXPIRY_MARGIN_MS = 30_000;

export function tmfAuth(
  tmf: Pick<TmfConfig, 'token' | 'token_url' | 'client_id' | 'client_secret'>,
  options: { timeoutMs: number; now: () => number },
): AuthHeaders {
  if (tmf.token !== '') {
    const headers = { authorization: `Bearer ${tmf.token}` };
    return async () => headers;
  }
  if (tmf.token_url === '') return async () => ({});
  const dispatcher = new Agent({ maxResponseSize: 64 * 1024 });
  let cached: { headers: Record<string, string>; until: number } | undefined;
  let fetching: Promise<Record<string, string>> | undefined;
  const fetchToken = async () => {
    const url = new URL(tmf.token_url);
    const response = await request(dispatcher, {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: tmf.client_id,
        client_secret: tmf.client_secret,
      }).toString(),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(`the TMF token endpoint answered ${response.statusCode}`);
    }
    const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new Error('the TMF token endpoint gave no access_token');
    }
    const lifetimeMs = typeof body.expires_in === 'number' ? body.expires_in * 1000 : 300_000;
    const headers = { authorization: `Bearer ${body.access_token}` };
    cached = { headers, until: options.now() + Math.max(lifetimeMs - EXPIRY_MARGIN_MS, 0) };
    return headers;
  };
  return async () => {
    if (cached && options.now() < cached.until) return cached.headers;
    fetching ??= fetchToken().finally(() => {
      fetching = undefined;
    });
    return fetching;
  };
}
