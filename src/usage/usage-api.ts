import type { UsageSpecification } from '../accounting/module.ts';
import { createJsonClient, type JsonResponse } from '../http/json-client.ts';
import type { UsageRecord } from './usage-record.ts';

/** Anything but the expected 201: the record or specification stays to be sent again. */
export class UsageApiError extends Error {
  override name = 'UsageApiError';
}

export interface UsageApi {
  /** Registers a specification; answers its href. */
  registerSpecification(specification: UsageSpecification, token: string): Promise<string>;
  sendRecord(record: UsageRecord, token: string): Promise<void>;
}

/** The marketplace's TMF635 usage API: `POST {base}/usageSpecification` and `POST {base}/usage`. */
export function createUsageApi(options: { baseUrl: string; timeoutMs: number }): UsageApi {
  const http = createJsonClient(options);
  const post = async (path: string, body: unknown, token: string) => {
    let response: JsonResponse;
    try {
      response = await http.post(path, body, { 'X-API-KEY': token });
    } catch (error) {
      throw new UsageApiError(`${path}: ${(error as Error).message}`);
    }
    if (response.status !== 201) {
      const text =
        typeof response.data === 'string' ? response.data : JSON.stringify(response.data);
      throw new UsageApiError(`${path}: ${response.status} ${text?.slice(0, 500) ?? ''}`);
    }
    return response.data as unknown;
  };
  return {
    async registerSpecification(specification, token) {
      const created = (await post('/usageSpecification', specification, token)) as {
        href?: unknown;
      };
      if (typeof created?.href !== 'string' || created.href === '') {
        throw new UsageApiError('/usageSpecification: the created specification has no href');
      }
      return created.href;
    },
    async sendRecord(record, token) {
      await post('/usage', record, token);
    },
  };
}
