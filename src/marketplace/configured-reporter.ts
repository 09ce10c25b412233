import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { AuthHeaders } from './tmf-auth.ts';
import { createTmfUsageReporter, type TmfUsageReporter } from './usage-reporter.ts';
import { createUsageSender } from './usage-sender.ts';

/** The tmf4 report cycle as the configuration describes it (the proxy's, and `cli report`'s). */
export function configuredTmfReporter(options: {
  config: Config;
  store: Store;
  auth: AuthHeaders;
  clock: Clock;
  log: Logger;
}): TmfUsageReporter {
  const { config } = options;
  return createTmfUsageReporter({
    store: options.store,
    sender: createUsageSender({
      usageUrl: config.tmf.usage_url,
      put: config.tmf.usage_put,
      timeoutMs: config.usageAPI.timeout,
      auth: options.auth,
    }),
    seller: config.tmf.seller,
    windowMs: config.tmf.usage_window,
    clock: options.clock,
    log: options.log,
  });
}
