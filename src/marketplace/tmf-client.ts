/**
 * The marketplace's TMF v4 APIs as the proxy reads them: products (TMF637) and their event hub,
 * the catalog (TMF620) and the parties (TMF632). Every answer but the expected one is an error
 * naming the call and the status; 404 of a single entity is `undefined`.
 */
import type { TmfConfig } from '../config/tmf.ts';
import { createJsonClient, type JsonClient } from '../http/json-client.ts';
import type { AuthHeaders } from './tmf-auth.ts';

export type TmfEntity = Record<string, unknown>;

export type CatalogKind = 'productOffering' | 'productOfferingPrice' | 'productSpecification';
export type PartyKind = 'organization' | 'individual';

export interface TmfClient {
  getProduct(id: string): Promise<TmfEntity | undefined>;
  listProducts(offset: number, limit: number): Promise<TmfEntity[]>;
  /** `POST /hub`: `created`, or `exists` (409: this callback is subscribed already). */
  subscribe(callback: string): Promise<'created' | 'exists'>;
  getCatalogEntity(kind: CatalogKind, id: string): Promise<TmfEntity | undefined>;
  getParty(kind: PartyKind, id: string): Promise<TmfEntity | undefined>;
}

const isEntity = (value: unknown): value is TmfEntity =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function createTmfClient(
  tmf: Pick<TmfConfig, 'inventory_url' | 'catalog_url' | 'party_url'>,
  options: { timeoutMs: number; auth: AuthHeaders },
): TmfClient {
  const client = (baseUrl: string) => createJsonClient({ baseUrl, timeoutMs: options.timeoutMs });
  const inventory = client(tmf.inventory_url);
  const catalog = client(tmf.catalog_url);
  const party = client(tmf.party_url);
  const getOne = async (http: JsonClient, path: string) => {
    const answer = await http.get(path, await options.auth());
    if (answer.status === 404) return undefined;
    if (answer.status !== 200 || !isEntity(answer.data)) {
      throw new Error(`GET ${path} answered ${answer.status}`);
    }
    return answer.data;
  };
  const id = encodeURIComponent;
  return {
    getProduct: (productId) => getOne(inventory, `/product/${id(productId)}`),
    async listProducts(offset, limit) {
      const path = `/product?offset=${offset}&limit=${limit}`;
      const answer = await inventory.get(path, await options.auth());
      if (answer.status !== 200 || !Array.isArray(answer.data)) {
        throw new Error(`GET ${path} answered ${answer.status}`);
      }
      return answer.data.filter(isEntity);
    },
    async subscribe(callback) {
      const answer = await inventory.post('/hub', { callback, query: '' }, await options.auth());
      if (answer.status === 201 || answer.status === 200) return 'created';
      if (answer.status === 409) return 'exists';
      throw new Error(`POST /hub answered ${answer.status}`);
    },
    getCatalogEntity: (kind, entityId) => getOne(catalog, `/${kind}/${id(entityId)}`),
    getParty: (kind, partyId) => getOne(party, `/${kind}/${id(partyId)}`),
  };
}
