import type { RequestHandler } from 'express';
import { newClientAccess } from '../../adapter/client-access.ts';
import { generateApiKey } from '../../buys/api-key.ts';
import { isProxyError, proxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { pathOfUrl, resolveService } from '../../services/resolve-service.ts';
import type { Buy, Store } from '../../store/store.ts';
import { deleteBuySchema, newBuySchema, parseBody } from '../schemas.ts';

export interface BuyRouteOptions {
  store: Store;
  units: readonly string[];
  /** The units that can meter an adapter session. */
  adapterUnits: readonly string[];
  /** Makes a change visible to this proxy's routing before the marketplace hears it is done. */
  refreshRouting(): Promise<void>;
  /** Runs before a buy ends (the Orion support cancels the buy's subscriptions here). */
  beforeRevoke?: (buy: Buy) => Promise<void>;
  /** Runs once a buy has ended (usage reporting sends its last usage now, if it can). */
  afterRevoke?: (buy: Buy) => void;
  log: Logger;
}

async function serviceOf(store: Store, url: string) {
  const path = pathOfUrl(url);
  if (path === undefined) throw proxyError('ADMIN_INVALID_URL', url);
  const service = await resolveService(store, path);
  return { path, service };
}

/** `POST newBuy`: a customer acquired the product; answers the buy's API key (the same one when repeated). */
export function newBuyRoute(options: BuyRouteOptions): RequestHandler {
  const schema = newBuySchema(options.units);
  return async (req, res) => {
    const body = parseBody(schema, req.body);
    const { path, service } = await serviceOf(options.store, body.productSpecification.url);
    if (!service) throw proxyError('ADMIN_UNKNOWN_SERVICE', path);
    const unit = body.productSpecification.unit;
    if (service.adapter && !options.adapterUnits.includes(unit)) {
      throw proxyError('ADAPTER_UNIT', unit, options.adapterUnits.join(', '));
    }
    const buy = await options.store.addBuy({
      apiKey: generateApiKey(),
      publicPath: service.publicPath,
      orderId: body.orderId,
      productId: body.productId,
      customer: body.customer,
      unit: body.productSpecification.unit,
      recordType: body.productSpecification.recordType,
      // Kept when bought again, like the API key.
      ...(service.adapter ? { access: newClientAccess() } : {}),
    });
    await options.refreshRouting();
    options.log.info(
      { orderId: buy.orderId, productId: buy.productId, service: buy.publicPath },
      'buy registered',
    );
    res.status(201).json({ 'API-KEY': buy.apiKey });
  };
}

/**
 * `POST deleteBuy`: the subscription ended. Access ends at once; unreported usage stays until it is
 * reported. A buy that does not exist is already deleted: 204 as well, so the marketplace may retry.
 */
export function deleteBuyRoute(options: BuyRouteOptions): RequestHandler {
  return async (req, res) => {
    const body = parseBody(deleteBuySchema, req.body);
    const { service } = await serviceOf(options.store, body.productSpecification.url);
    const buy =
      service && (await options.store.findBuy({ ...body, publicPath: service.publicPath }));
    if (buy) {
      await options.beforeRevoke?.(buy);
      try {
        await options.store.revokeBuy(buy.apiKey);
      } catch (error) {
        if (!isProxyError(error, 'BUY_NOT_FOUND')) throw error;
      }
      await options.refreshRouting();
      options.afterRevoke?.(buy);
      options.log.info(
        { orderId: buy.orderId, productId: buy.productId, service: buy.publicPath },
        'buy revoked',
      );
    }
    res.status(204).end();
  };
}
