import { createRequire } from 'node:module';
import type { Dispatcher, Agent as UndiciAgent } from 'undici';

// undici's connection pool and its request helper alone. The package root also loads fetch,
// WebSocket, EventSource, the cache, the mocks and Node's own bundled copy of undici, none of which
// the proxy uses: 5 MB of the proxy's resident memory at start (85 → 80 MB on Node 20), which every
// streaming peak would carry (bench/README.md, item 9). Every test that forwards a request or calls the IdM loads these paths.
const load = createRequire(import.meta.url);

export const Agent: typeof UndiciAgent = load('undici/lib/dispatcher/agent.js');

const requestThrough: (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData> = load('undici/lib/api/api-request.js');

/** undici's `dispatcher.request(options)`, which only the package root installs on dispatchers. */
export function request(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return requestThrough.call(dispatcher, options);
}
