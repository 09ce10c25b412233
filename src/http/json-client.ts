import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance } from 'axios';

/**
 * An axios client for a JSON service the proxy talks to (the IdM, the usage API): keep-alive
 * connections, a timeout, no redirects followed, and every status returned to the caller to judge.
 */
export function createJsonClient(options: { baseUrl: string; timeoutMs: number }): AxiosInstance {
  return axios.create({
    baseURL: options.baseUrl,
    timeout: options.timeoutMs,
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
    validateStatus: () => true,
    maxRedirects: 0,
    responseType: 'json',
    headers: { accept: 'application/json' },
  });
}
