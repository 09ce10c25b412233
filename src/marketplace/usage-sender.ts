/**
 * Sends TMF635 v4 usage records to the marketplace's usage API. With `put` (DOME's extension) a
 * record is `PUT /usage/{id}`: 201 and 409 (that id exists) both mean the marketplace has it. Else
 * it is `POST /usage`, and `find` tells whether a record whose outcome was unknown got there: the
 * usages described by its marker, each checked here, since a server may ignore the filter.
 */
import { createJsonClient, type JsonResponse } from '../http/json-client.ts';
import type { AuthHeaders } from './tmf-auth.ts';
import type { UsageRecordV4 } from './usage-record-v4.ts';

export type SendOutcome =
  | { outcome: 'done' }
  /** A 4xx but 408 and 429: the marketplace refused the record as it stands. */
  | { outcome: 'refused'; status: number; message: string }
  /** 5xx, 408, 429, a timeout, a cut connection: it may or may not have it. */
  | { outcome: 'unknown'; message: string };

export interface UsageSender {
  readonly put: boolean;
  send(record: UsageRecordV4): Promise<SendOutcome>;
  /** Whether the marketplace has the record (POST mode, after an unknown outcome). */
  find(record: UsageRecordV4): Promise<boolean>;
}

const PAGE = 100;
// A server that ignores the filter lists everything: how far the search goes before it gives up.
const MAX_PAGES = 1000;

const messageOf = ({ data }: JsonResponse) =>
  (typeof data === 'string' ? data : JSON.stringify(data ?? '')).slice(0, 500);

function judge(method: string, response: JsonResponse): SendOutcome {
  const { status } = response;
  if (status === 201 || status === 200 || (method === 'PUT' && status === 409)) {
    return { outcome: 'done' };
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { outcome: 'refused', status, message: messageOf(response) };
  }
  return { outcome: 'unknown', message: `${method} /usage: ${status} ${messageOf(response)}` };
}

export function createUsageSender(options: {
  usageUrl: string;
  put: boolean;
  timeoutMs: number;
  auth: AuthHeaders;
}): UsageSender {
  const http = createJsonClient({ baseUrl: options.usageUrl, timeoutMs: options.timeoutMs });
  return {
    put: options.put,
    async send(record) {
      const method = options.put ? 'PUT' : 'POST';
      try {
        const headers = await options.auth();
        const response = options.put
          ? // The id is ours (urn:ngsi-ld:usage:<uuid>): nothing in it to escape.
            await http.put(`/usage/${record.id}`, record.body, headers)
          : await http.post('/usage', record.body, headers);
        return judge(method, response);
      } catch (error) {
        return { outcome: 'unknown', message: `${method} /usage: ${(error as Error).message}` };
      }
    },
    async find(record) {
      const description = encodeURIComponent(record.marker);
      for (let page = 0; page < MAX_PAGES; page++) {
        const path = `/usage?description=${description}&offset=${page * PAGE}&limit=${PAGE}`;
        const response = await http.get(path, await options.auth());
        if (response.status !== 200 || !Array.isArray(response.data)) {
          throw new Error(`GET /usage answered ${response.status}`);
        }
        const items = response.data as { description?: unknown }[];
        if (items.some((item) => item?.description === record.marker)) return true;
        if (items.length < PAGE) return false;
      }
      throw new Error(`GET /usage: the record was not among the first ${MAX_PAGES * PAGE} usages`);
    },
  };
}
