import express, { type Express, type RequestHandler } from 'express';
import type { Config } from '../../config.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import type { Clock } from '../clock.ts';
import { proxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Buy, Store } from '../store/store.ts';
import { authenticate } from './authenticate.ts';
import { errorHandler } from './error-handler.ts';
import { jsonBody } from './json-body.ts';
import { marketplaceGuard } from './marketplace-guard.ts';
import { deleteBuyRoute, newBuyRoute } from './routes/buys.ts';
import { checkUrlRoute } from './routes/check-url.ts';
import { keysRoute } from './routes/keys.ts';
import { unitsRoute } from './routes/units.ts';
import { usageRoute } from './routes/usage.ts';

export interface AdminAppOptions {
  config: Config;
  store: Store;
  tokens: AccessTokens;
  refreshRouting(): Promise<void>;
  beforeRevoke?: (buy: Buy) => Promise<void>;
  afterRevoke?: (buy: Buy) => void;
  log: Logger;
  clock: Clock;
  /** The units that can meter an adapter session. */
  adapterUnits: readonly string[];
}

const onlyMethod =
  (allowed: string): RequestHandler =>
  (_req, res, next) => {
    res.setHeader('allow', allowed);
    next(proxyError('ADMIN_METHOD_NOT_ALLOWED', allowed));
  };

/** The marketplace's API under `/accounting_proxy/*` (paths configurable), as an express app. */
export function createAdminApp(options: AdminAppOptions): Express {
  const { config, store, tokens, log } = options;
  const paths = config.api.administration_paths;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const marketplace = marketplaceGuard(config);
  const user = authenticate(tokens);
  const buys = {
    store,
    units: config.modules.accounting,
    adapterUnits: options.adapterUnits,
    refreshRouting: options.refreshRouting,
    log,
    ...(options.beforeRevoke ? { beforeRevoke: options.beforeRevoke } : {}),
    ...(options.afterRevoke ? { afterRevoke: options.afterRevoke } : {}),
  };

  app.get(paths.units, unitsRoute(config.modules.accounting));
  app.get(paths.keys, user, keysRoute(store, { https: config.accounting_proxy.https.enabled }));
  app.get(paths.usage, user, usageRoute(store, options.clock));
  for (const path of [paths.units, paths.keys, paths.usage]) app.all(path, onlyMethod('GET'));
  const bae7Paths = [paths.checkURL, paths.newBuy, paths.deleteBuy];
  if (config.marketplace.mode === 'tmf4') {
    // The marketplace's purchases are products of its inventory (src/marketplace/), not calls.
    for (const path of bae7Paths)
      app.all(path, (_req, _res, next) => next(proxyError('ADMIN_PURCHASES_FROM_INVENTORY')));
  } else {
    app.post(paths.checkURL, marketplace, user, jsonBody, checkUrlRoute(store, log, options.clock));
    app.post(paths.newBuy, marketplace, jsonBody, newBuyRoute(buys));
    app.post(paths.deleteBuy, marketplace, jsonBody, deleteBuyRoute(buys));
    for (const path of bae7Paths) app.all(path, onlyMethod('POST'));
  }
  app.use(errorHandler(log, () => store.isAvailable()));
  return app;
}
