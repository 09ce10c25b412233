import type { UsageSpecification } from '../accounting/module.ts';
import { createJsonClient, type JsonResponse } from '../http/json-client.ts';
import type { UsageRecord } from './usage-record.ts';

/**
 * What the usage API made of a call (marketplace-contract §3.3). It judges a usage record before it
 * answers, so anything but a 201 is not necessarily a failure: the report cycle reads `status` and
 * `message` to tell "accepted earlier" from a rejection.
 */
export type UsageApiAnswer<T> =
  | { outcome: 'created'; value: T }
  /** 401: the key was missing, unknown or uncommitted; the request itself was not looked at. */
  | { outcome: 'key-refused'; message: string }
  /** Any other 4xx but 408 and 429: the marketplace refused this request as it stands. */
  | { outcome: 'refused'; status: number; message: string }
  /** 5xx, 408, 429, an unusable 201, a timeout or a cut connection: it may or may not have it. */
  | { outcome: 'unknown'; message: string };

export interface UsageApi {
  /** Registers a specification; created with its href. */
  registerSpecification(
    specification: UsageSpecification,
    key: string,
  ): Promise<UsageApiAnswer<string>>;
  sendRecord(record: UsageRecord, key: string): Promise<UsageApiAnswer<undefined>>;
}

/** The `error` of the marketplace's JSON answer, else the body as text (shortened). */
function messageOf(response: JsonResponse): string {
  const { data } = response;
  if (typeof data === 'object' && data !== null && 'error' in data) {
    const { error } = data as { error: unknown };
    if (typeof error === 'string') return error;
  }
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return (text ?? '').slice(0, 500);
}

const TRANSIENT_4XX = new Set([408, 429]);

function classify(path: string, response: JsonResponse): UsageApiAnswer<unknown> {
  const { status } = response;
  if (status === 201) return { outcome: 'created', value: response.data };
  const message = messageOf(response);
  if (status === 401) return { outcome: 'key-refused', message };
  if (status >= 400 && status < 500 && !TRANSIENT_4XX.has(status)) {
    return { outcome: 'refused', status, message };
  }
  return { outcome: 'unknown', message: `${path}: ${status} ${message}`.trimEnd() };
}

/** The marketplace's TMF635 usage API: `POST {base}/usageSpecification` and `POST {base}/usage`. */
export function createUsageApi(options: { baseUrl: string; timeoutMs: number }): UsageApi {
  const http = createJsonClient(options);
  const post = async (path: string, body: unknown, key: string) => {
    try {
      return classify(path, await http.post(path, body, { 'X-API-KEY': key }));
    } catch (error) {
      return { outcome: 'unknown', message: `${path}: ${(error as Error).message}` } as const;
    }
  };
  return {
    async registerSpecification(specification, key) {
      const answer = await post('/usageSpecification', specification, key);
      if (answer.outcome !== 'created') return answer;
      const href = (answer.value as { href?: unknown } | undefined)?.href;
      if (typeof href !== 'string' || href === '') {
        return {
          outcome: 'unknown',
          message: '/usageSpecification: the created specification has no href',
        };
      }
      return { outcome: 'created', value: href };
    },
    async sendRecord(record, key) {
      const answer = await post('/usage', record, key);
      return answer.outcome === 'created' ? { outcome: 'created', value: undefined } : answer;
    },
  };
}
