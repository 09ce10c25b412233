import type { Config } from '../../config.ts';
import type { Meters } from '../accounting/meter.ts';
import type { AccountingModule } from '../accounting/module.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { startNotificationListener } from './notification-listener.ts';
import {
  createSubscriptionCanceller,
  type SubscriptionCanceller,
} from './subscription-canceller.ts';
import { createSubscriptionHandler } from './subscription-handler.ts';

export interface OrionSupport {
  subscriptions: ReturnType<typeof createSubscriptionHandler>;
  canceller: SubscriptionCanceller;
  listenerPort: number;
  close(): Promise<void>;
}

/** Everything the proxy runs for Orion Context Broker services, started together. */
export async function startOrionSupport(options: {
  config: Config;
  store: Store;
  modules: ReadonlyMap<string, AccountingModule>;
  meters: Meters;
  clock: Clock;
  log: Logger;
}): Promise<OrionSupport> {
  const listener = await startNotificationListener(options);
  const canceller = createSubscriptionCanceller({
    store: options.store,
    timeoutMs: options.config.accounting_proxy.backend_timeout,
    log: options.log,
  });
  options.log.info({ port: listener.port }, 'Orion notification listener running');
  return {
    subscriptions: createSubscriptionHandler({ ...options, listenerPort: listener.port }),
    canceller,
    listenerPort: listener.port,
    async close() {
      canceller.stop();
      await listener.close();
    },
  };
}
