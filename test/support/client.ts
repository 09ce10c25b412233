import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTP request; the body comes back as raw bytes (no decompression, no redirects). */
export function request(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string | string[]>;
    body?: Buffer | string;
  } = {},
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    // The path is passed as given: a URL would percent-encode characters such as `{`.
    const [, origin = '', path = ''] = /^(https?:\/\/[^/?]+)(.*)$/.exec(url) ?? [];
    const { hostname, port } = new URL(origin);
    const req = httpRequest(
      {
        hostname,
        port,
        path: path || '/',
        method: options.method ?? 'GET',
        // Node's client frames a GET or DELETE body only with an explicit Content-Length.
        headers: {
          ...(options.body !== undefined
            ? { 'content-length': String(Buffer.byteLength(options.body)) }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The marketplace's deleteBuy of one buy, sent to a proxy's admin API. */
export function deleteBuy(
  proxyUrl: string,
  buy: { orderId: string; productId: string; customer: string; publicPath: string },
): Promise<ClientResponse> {
  return request(`${proxyUrl}/accounting_proxy/deleteBuy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      orderId: buy.orderId,
      productId: buy.productId,
      customer: buy.customer,
      productSpecification: { url: `${proxyUrl}${buy.publicPath}` },
    }),
  });
}
