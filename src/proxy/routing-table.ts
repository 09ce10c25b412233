import { createHash } from 'node:crypto';
import { type Limits, limitsResolver } from '../limits/limits.ts';
import { firstSegmentEnd } from '../services/route-rule.ts';
import type { Buy, RoutingState, Service } from '../store/store.ts';

export interface Route {
  service: Service;
  /** What follows the public path, exactly as the client sent it (`/rest?q=1`, or '' for a complete-path match). */
  rest: string;
}

/** A service with what the hot path needs of it, computed once per routing change. */
export interface ServiceEntry {
  service: Service;
  admins: Set<string>;
  methods: Set<string>;
  /** `Valid methods are: …` list, as the original prints it. */
  methodList: string;
}

const digest = (apiKey: string) => createHash('sha256').update(apiKey).digest('base64');

/**
 * Everything routing and authorization need, in memory. Built from a store snapshot and replaced
 * whole when the store changes, so a request always sees one consistent state.
 */
export class RoutingTable {
  readonly #services = new Map<string, ServiceEntry>();
  // Keyed by a digest of the API key, so the lookup's timing says nothing about a guessed key.
  readonly #buys = new Map<string, Buy>();
  // Purchases of the TMF v4 marketplace by service: a customer with one needs no API key.
  readonly #marketplaceBuys = new Map<string, Buy[]>();
  readonly #limitsOf: (buy: Buy) => Limits | undefined;

  constructor(readonly state: RoutingState) {
    for (const service of state.services) {
      this.#services.set(service.publicPath, {
        service,
        admins: new Set(),
        methods: new Set(service.methods),
        methodList: service.methods.join(','),
      });
    }
    this.#limitsOf = limitsResolver(state.limits);
    for (const binding of state.bindings) {
      this.#services.get(binding.publicPath)?.admins.add(binding.adminId);
    }
    for (const buy of state.buys) {
      this.#buys.set(digest(buy.apiKey), buy);
      if (!buy.terms) continue;
      const ofService = this.#marketplaceBuys.get(buy.publicPath);
      if (ofService) ofService.push(buy);
      else this.#marketplaceBuys.set(buy.publicPath, [buy]);
    }
  }

  /** The limits a buy's requests are admitted by (its own over its service's), if any. */
  limitsOf(buy: Buy): Limits | undefined {
    return this.#limitsOf(buy);
  }

  /** The active purchases of the TMF v4 marketplace for a service. */
  marketplaceBuys(publicPath: string): readonly Buy[] {
    return this.#marketplaceBuys.get(publicPath) ?? [];
  }

  /**
   * The service by the routing rule (services/route-rule.ts); `url` is the raw request target,
   * nothing is decoded or re-encoded.
   */
  route(url: string): (Route & { entry: ServiceEntry }) | undefined {
    const complete = this.#services.get(url);
    if (complete) return { service: complete.service, entry: complete, rest: '' };
    const end = firstSegmentEnd(url);
    const entry = this.#services.get(url.slice(0, end));
    if (!entry) return undefined;
    const rest = url.slice(end);
    return { service: entry.service, entry, rest: rest.startsWith('/') ? rest : `/${rest}` };
  }

  /**
   * The buy with this API key. The map is keyed by the key's digest, so a hit is the key itself
   * and the lookup's timing depends on the digest only: no comparison of the key is left to leak.
   */
  buy(apiKey: string): Buy | undefined {
    return this.#buys.get(digest(apiKey));
  }
}
