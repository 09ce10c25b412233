/**
 * Keeps the store's buys equal to the products of the marketplace's inventory: a product that
 * grants access is a buy of its service (with an API key of its own), one that no longer does is
 * revoked at once (its usage still reported). Fed by events (one product, a hint) and by the
 * periodic reconcile (every product, page by page), since events may be dropped or never sent.
 */
import { generateApiKey } from '../buys/api-key.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Buy, Store } from '../store/store.ts';
import type { ProductResolver, Resolution } from './product-resolver.ts';
import type { TmfClient, TmfEntity } from './tmf-client.ts';

export interface ProductSyncOptions {
  store: Pick<Store, 'listServices' | 'listBuys' | 'addBuy' | 'revokeBuy'>;
  client: Pick<TmfClient, 'getProduct' | 'listProducts'>;
  resolver: ProductResolver;
  clock: Clock;
  log: Logger;
  /** After buys changed: the routing table is reloaded, so the change is served at once. */
  onChanged(): Promise<void>;
  /** A buy ended: its last usage should be reported. */
  afterEnd(buy: Buy): void;
}

export interface ProductSync {
  /** Reads one product (named by an event) and applies it. */
  syncProduct(productId: string): Promise<void>;
  /** Applies every product of the inventory; buys of products no longer listed end. */
  reconcile(): Promise<void>;
}

const PAGE = 100;

const sameTerms = (a: Buy, b: Omit<Buy, 'apiKey'>) =>
  a.publicPath === b.publicPath &&
  a.customer === b.customer &&
  a.unit === b.unit &&
  JSON.stringify(a.terms) === JSON.stringify(b.terms);

export function createProductSync(options: ProductSyncOptions): ProductSync {
  const { store, log } = options;
  // One warning per product and reason, not one per reconcile.
  const warned = new Map<string, string>();

  const marketplaceBuys = async () => {
    const byProduct = new Map<string, Buy[]>();
    for (const buy of await store.listBuys()) {
      if (!buy.terms) continue;
      byProduct.set(buy.productId, [...(byProduct.get(buy.productId) ?? []), buy]);
    }
    return byProduct;
  };

  const end = async (buy: Buy) => {
    await store.revokeBuy(buy.apiKey);
    log.info(
      { productId: buy.productId, service: buy.publicPath },
      'product ended: access revoked',
    );
    options.afterEnd(buy);
  };

  /** Applies a resolution; answers whether the store changed. */
  const apply = async (productId: string, resolution: Resolution, current: Buy[]) => {
    if (resolution.kind === 'ignore' && warned.get(productId) !== resolution.reason) {
      warned.set(productId, resolution.reason);
      log.warn({ productId, reason: resolution.reason }, 'product ignored');
    }
    if (resolution.kind !== 'grant') {
      for (const buy of current) await end(buy);
      return current.length > 0;
    }
    warned.delete(productId);
    const wanted = resolution.buy;
    if (current.length === 1 && current[0] && sameTerms(current[0], wanted)) return false;
    // Another service or customer than before: the old buy ends, the new one begins.
    for (const buy of current) {
      if (buy.publicPath !== wanted.publicPath || buy.customer !== wanted.customer) await end(buy);
    }
    const buy = await store.addBuy({ apiKey: generateApiKey(), ...wanted });
    log.info({ productId, service: buy.publicPath, unit: buy.unit }, 'product grants access');
    return true;
  };

  const services = () => store.listServices();

  const applyProduct = async (
    product: TmfEntity,
    current: Buy[],
    listed: Awaited<ReturnType<typeof services>>,
  ) => {
    const productId = String(product.id);
    try {
      const resolution = await options.resolver.resolve(product, listed, options.clock.now());
      return await apply(productId, resolution, current);
    } catch (error) {
      log.warn({ productId, err: error }, 'product not applied; the next reconcile tries again');
      return false;
    }
  };

  return {
    async syncProduct(productId) {
      const product = await options.client.getProduct(productId);
      const current = (await marketplaceBuys()).get(productId) ?? [];
      const changed = product
        ? await applyProduct(product, current, await services())
        : await apply(productId, { kind: 'end' }, current);
      if (changed) await options.onChanged();
    },
    async reconcile() {
      const listed = await services();
      const buys = await marketplaceBuys();
      const seen = new Set<string>();
      let changed = false;
      for (let offset = 0; ; offset += PAGE) {
        const page = await options.client.listProducts(offset, PAGE);
        for (const product of page) {
          if (typeof product.id !== 'string' || seen.has(product.id)) continue;
          seen.add(product.id);
          changed = (await applyProduct(product, buys.get(product.id) ?? [], listed)) || changed;
        }
        if (page.length < PAGE) break;
      }
      // Listed in full: a buy whose product is gone from the inventory ends.
      for (const [productId, current] of buys) {
        if (!seen.has(productId))
          changed = (await apply(productId, { kind: 'end' }, current)) || changed;
      }
      if (changed) await options.onChanged();
    },
  };
}
