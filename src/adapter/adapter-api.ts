/** The adapter API as the proxy runs it: the `sess` service on its own listener, when configured. */
import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { type AdapterListener, startAdapterListener } from './adapter-listener.ts';
import { createAuthLimiter } from './auth-limiter.ts';
import type { RoutingFeed } from './client-watch.ts';
import { createJsonRpcServer } from './json-rpc.ts';
import { createSessService } from './sess-service.ts';

/** Undefined when `ACCOUNTING_PROXY_ADAPTER_PORT` is not set. */
export async function startAdapterApi(options: {
  config: Config['adapter'];
  store: Store;
  routing: RoutingFeed;
  clock: Clock;
  log: Logger;
}): Promise<AdapterListener | undefined> {
  const { config, store, routing, clock } = options;
  if (config.port === 0) return undefined;
  const log = options.log.child({ component: 'adapter-api' });
  const service = createSessService({
    store,
    clock,
    log,
    routing,
    limiter: createAuthLimiter({ clock }),
  });
  const listener = await startAdapterListener({
    rpc: createJsonRpcServer(service),
    port: config.port,
    bind: config.bind,
    trusted: config.trusted,
    origins: config.origins,
    log,
  });
  log.info({ port: listener.port, bind: config.bind }, 'adapter API listening');
  return listener;
}
