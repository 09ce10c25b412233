/**
 * Turns a TMF637 product into what the proxy does about it: a purchase of one of its services in a
 * unit it meters (grant), the end of access, or nothing with the reason why. Never a guess: a
 * product whose service, usage price, unit or customer cannot be made out is ignored.
 */
import { LRUCache } from 'lru-cache';
import type { Buy, MarketplaceTerms, Service } from '../store/store.ts';
import {
  accessOf,
  customerPartyOf,
  isUsagePriceType,
  keyVariants,
  partyKeys,
  refId,
} from './product-rules.ts';
import type { CatalogKind, PartyKind, TmfClient, TmfEntity } from './tmf-client.ts';

export type Resolution =
  | { kind: 'grant'; buy: Omit<Buy, 'apiKey'> }
  | { kind: 'end' }
  | { kind: 'ignore'; reason: string };

export interface ResolverOptions {
  client: TmfClient;
  /** Units the proxy meters (loaded modules). */
  units: readonly string[];
  /** The marketplace's name of a unit, where it is not the unit itself. */
  unitNames: readonly { unit: string; name: string }[];
  customerRoles: readonly string[];
  /** How long catalog entries and parties are trusted (the reconcile interval). */
  cacheMs: number;
}

export interface ProductResolver {
  resolve(product: TmfEntity, services: readonly Service[], nowMs: number): Promise<Resolution>;
}

interface UsagePrice {
  units: string;
  usageSpecId: string | undefined;
}

const ignore = (reason: string): Resolution => ({ kind: 'ignore', reason });

export function createProductResolver(options: ResolverOptions): ProductResolver {
  const { client } = options;
  const entities = new LRUCache<string, TmfEntity, { kind: CatalogKind | PartyKind; id: string }>({
    max: 10_000,
    ttl: options.cacheMs,
    fetchMethod: async (_key, _stale, { context }) => {
      const found =
        context.kind === 'organization' || context.kind === 'individual'
          ? await client.getParty(context.kind, context.id)
          : await client.getCatalogEntity(context.kind, context.id);
      // Nothing cached for an entity that does not exist (yet).
      return found;
    },
  });
  const entity = (kind: CatalogKind | PartyKind, id: string) =>
    entities.fetch(`${kind}|${id}`, { context: { kind, id } });

  const serviceOf = async (product: TmfEntity, services: readonly Service[]) => {
    const offeringId = refId(product.productOffering);
    const byOffering = services.find(
      (s) => offeringId && s.catalog?.offerings.includes(offeringId),
    );
    if (byOffering) return byOffering;
    let specId = refId(product.productSpecification);
    if (!specId && offeringId) {
      specId = refId((await entity('productOffering', offeringId))?.productSpecification);
    }
    return services.find((s) => specId && s.catalog?.productSpecs.includes(specId));
  };

  /** The usage price of the product, a bundle's parts included (one level, as CB expands them). */
  const usagePriceOf = async (product: TmfEntity): Promise<UsagePrice | undefined> => {
    const prices = Array.isArray(product.productPrice) ? (product.productPrice as TmfEntity[]) : [];
    const popIds = prices.map((price) => refId(price?.productOfferingPrice));
    for (const popId of popIds) {
      if (!popId) continue;
      const pop = await entity('productOfferingPrice', popId);
      const candidates = [pop];
      const bundled = Array.isArray(pop?.bundledPopRelationship) ? pop.bundledPopRelationship : [];
      for (const part of bundled) {
        const partId = refId(part);
        if (partId) candidates.push(await entity('productOfferingPrice', partId));
      }
      for (const candidate of candidates) {
        if (!candidate || !isUsagePriceType(candidate.priceType)) continue;
        const measure = candidate.unitOfMeasure as TmfEntity | undefined;
        const units = typeof measure?.units === 'string' ? measure.units.trim() : '';
        if (units === '') continue;
        const spec = candidate.usageSpecId;
        return { units, usageSpecId: typeof spec === 'string' && spec !== '' ? spec : undefined };
      }
    }
    return undefined;
  };

  const unitOf = (units: string): string | undefined => {
    const named = options.unitNames.find((n) => n.name.toLowerCase() === units.toLowerCase());
    const unit = named?.unit ?? units;
    return options.units.includes(unit) ? unit : undefined;
  };

  return {
    async resolve(product, services, nowMs) {
      const productId = typeof product.id === 'string' ? product.id : '';
      if (productId === '') return ignore('the product has no id');
      const access = accessOf(product, nowMs);
      if (access !== 'granted') return { kind: 'end' };
      const service = await serviceOf(product, services);
      if (!service) {
        return ignore(
          `no service has its offering ${refId(product.productOffering) ?? '(none)'} or its product specification`,
        );
      }
      const price = await usagePriceOf(product);
      if (!price) return ignore('it has no usage price with a unit of measure');
      const unit = unitOf(price.units);
      if (!unit) {
        return ignore(
          `its usage price is in "${price.units}", which is no unit this proxy meters (ACCOUNTING_PROXY_TMF_UNITS)`,
        );
      }
      const party = customerPartyOf(product, options.customerRoles);
      if (!party) return ignore('no related party has a customer role');
      const kind: PartyKind =
        party.referredType.toLowerCase() === 'individual' ? 'individual' : 'organization';
      const details = await entity(kind, party.id);
      const keys = [
        party.id,
        ...(party.name ? [party.name] : []),
        ...(details ? partyKeys(details) : []),
      ];
      const terms: MarketplaceTerms = {
        customerKeys: [...new Set(keys.flatMap(keyVariants))],
        customerType: party.referredType,
        unitName: price.units,
        ...(price.usageSpecId && { usageSpecId: price.usageSpecId }),
        ...(typeof product.href === 'string' && { productHref: product.href }),
        ...(typeof product.name === 'string' && { productName: product.name }),
      };
      return {
        kind: 'grant',
        buy: {
          publicPath: service.publicPath,
          orderId: productId,
          productId,
          customer: party.id,
          unit,
          recordType: `${unit}usage`,
          terms,
        },
      };
    },
  };
}
