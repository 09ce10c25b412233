/**
 * The tmf4 marketplace mode at run time: the secret path of the event listener (kept in the
 * store, the same for every process), the subscription to the inventory's product events, and the
 * reconcile loop, which also renews the subscription (409: still there) in case it was lost.
 * Nothing here delays start-up: a marketplace that is down is retried at the next interval.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Store } from '../store/store.ts';
import { configuredTmfReporter } from './configured-reporter.ts';
import { createEventListener, type EventListener, TMF_LISTENER_PREFIX } from './event-listener.ts';
import { createProductResolver } from './product-resolver.ts';
import { createProductSync, type ProductSync } from './product-sync.ts';
import { tmfAuth } from './tmf-auth.ts';
import { createTmfClient } from './tmf-client.ts';
import { startTmfUsageSchedule, type TmfUsageSchedule } from './usage-schedule.ts';

export interface Marketplace {
  listener: EventListener;
  sync: ProductSync;
  /** The TMF635 v4 usage records of the purchases. */
  usage: TmfUsageSchedule;
  /** Runs a reconcile now (and renews the subscription); resolves when it is done. */
  reconcileNow(): Promise<void>;
  close(): Promise<void>;
}

const SECRET_SETTING = 'tmf-callback-secret';
const TIMEOUT_MS = 10_000;

export async function startMarketplace(options: {
  config: Config;
  store: Store;
  units: readonly string[];
  clock: Clock;
  log: Logger;
  refreshRouting(): Promise<void>;
  /** The report cycles go into the same metrics as the admin API's. */
  metrics?: Pick<Metrics, 'reportCycle'> | undefined;
}): Promise<Marketplace> {
  const { config, store, clock } = options;
  const tmf = config.tmf;
  const log = options.log.child({ marketplace: 'tmf4' });
  const auth = tmfAuth(tmf, { timeoutMs: TIMEOUT_MS, now: () => clock.now() });
  const client = createTmfClient(tmf, { timeoutMs: TIMEOUT_MS, auth });
  const usage = startTmfUsageSchedule({
    reporter: configuredTmfReporter({ config, store, auth, clock, log }),
    windowMs: tmf.usage_window,
    retryInitialMs: config.usageAPI.retry_initial,
    retryMaxMs: config.usageAPI.retry_max,
    clock,
    log,
    onResult: ({ skipped, failures, records }, endedAt) =>
      options.metrics?.reportCycle(
        skipped ? 'skipped' : failures.length > 0 ? 'failed' : 'sent',
        records,
        endedAt,
      ),
  });
  const sync = createProductSync({
    store,
    client,
    resolver: createProductResolver({
      client,
      units: options.units,
      unitNames: tmf.units,
      customerRoles: tmf.customer_roles,
      cacheMs: tmf.reconcile,
    }),
    clock,
    log,
    onChanged: options.refreshRouting,
    // An ended purchase's open window goes out now.
    afterEnd: () => usage.runSoon(),
  });
  const secret = await store.claimSetting(SECRET_SETTING, randomBytes(32).toString('base64url'));
  const callback =
    tmf.callback_url === '' ? undefined : `${tmf.callback_url}${TMF_LISTENER_PREFIX}${secret}`;
  if (!callback)
    log.warn('no ACCOUNTING_PROXY_TMF_CALLBACK_URL: products are learnt by reconciling only');

  let failing = false;
  const round = async () => {
    try {
      if (callback && (await client.subscribe(callback)) === 'created') {
        log.info('subscribed to the product inventory events');
      }
      await sync.reconcile();
      if (failing) log.info('product inventory reachable again');
      failing = false;
    } catch (error) {
      if (!failing)
        log.warn({ err: error }, 'cannot reconcile with the product inventory; retrying');
      failing = true;
    }
  };
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const runRound = () => {
    running = running.then(round);
    return running;
  };
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => void runRound().then(schedule), tmf.reconcile);
    timer.unref();
  };
  void runRound().then(schedule);
  const inFlight = new Set<Promise<void>>();
  return {
    listener: createEventListener({
      secret,
      log,
      onProduct: (productId) => {
        const syncing = sync
          .syncProduct(productId)
          .catch((error: unknown) =>
            log.warn(
              { productId, err: error },
              'product event not applied; the next reconcile will',
            ),
          )
          .finally(() => inFlight.delete(syncing));
        inFlight.add(syncing);
      },
    }),
    sync,
    usage,
    reconcileNow: runRound,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
      await Promise.all([...inFlight]);
      await usage.stop();
    },
  };
}
