import type {
  AdapterClient,
  AdapterStore,
  Product,
  SessionOutcome,
  SessionRateTable,
} from '../adapter.ts';
import type { RedisContext } from './connection.ts';
import { parseBuy } from './rows.ts';

type ProductEntry = Omit<Product, 'productId'>;

const toProduct = (productId: string, json: string): Product => {
  const p = JSON.parse(json) as ProductEntry;
  // cjson writes an empty table as {}; a config is never an array.
  const config = Array.isArray(p.config) ? {} : p.config;
  return {
    productId,
    publicPath: p.publicPath,
    passwordHash: p.passwordHash,
    config,
    ...(p.endpointAddress === undefined ? {} : { endpointAddress: p.endpointAddress }),
  };
};

/** Products, client credentials and sessions of adapter services in Redis. */
export function redisAdapter(
  { redis, keys, change, durableRun }: RedisContext,
  rates: SessionRateTable,
): AdapterStore {
  // The script picks the buy's unit from the table, inside the step that reads the buy.
  const ratesJson = JSON.stringify(rates);
  const getClient = async (clientKey: string): Promise<AdapterClient | undefined> => {
    const apiKey = await redis.hget(keys.of('clients'), clientKey);
    const json = apiKey === null ? null : await redis.hget(keys.of('buys'), apiKey);
    if (apiKey === null || json === null) return undefined;
    const b = parseBuy(json);
    return {
      apiKey,
      publicPath: b.publicPath,
      unit: b.unit,
      access: { clientKey, clientPassword: b.clientPassword ?? '' },
      revoked: b.revoked,
      ready: b.ready === true,
      session: b.session && {
        total: Number(b.session.total),
        countedAt: b.session.countedAt,
        open: b.session.open,
      },
    };
  };
  return {
    setProduct: (product, options) => {
      const { productId, ...entry } = product;
      return change(
        'setProduct',
        productId,
        product.publicPath,
        JSON.stringify(entry),
        options?.replace ? '1' : '0',
      );
    },
    getProduct: async (productId) => {
      const json = await redis.hget(keys.of('products'), productId);
      return json === null ? undefined : toProduct(productId, json);
    },
    findProduct: async (publicPath) => {
      const all = await redis.hgetall(keys.of('products'));
      return Object.entries(all)
        .map(([productId, json]) => toProduct(productId, json))
        .find((product) => product.publicPath === publicPath);
    },
    setProductConfig: (productId, config, endpointAddress) =>
      change('setProductConfig', productId, JSON.stringify(config), endpointAddress ?? ''),
    getClient,
    endedClient: async (clientKey) =>
      (await redis.hget(keys.of('ended-clients'), clientKey)) ?? undefined,
    setClientReady: (clientKey) => change('setClientReady', clientKey),
    recordSession: async (clientKey, event, nowMs, quota) => {
      const units = event.kind === 'update' ? event.units : 0;
      const [result, amount, over] = (await durableRun('recordSession', [
        clientKey,
        event.kind,
        units,
        nowMs,
        ratesJson,
        quota?.period ?? '',
        quota?.amount ?? 0,
      ])) as [SessionOutcome['result'], string, string];
      const outcome: SessionOutcome = { result, amount: Number(amount) };
      const applied = result === 'recorded' || result === 'revoked';
      if (quota && applied) outcome.overQuota = over === '1';
      return outcome;
    },
  };
}
