/** One Lua script of the Redis store with the keys it declares. */
import type { StoreKey } from './keys.ts';

export interface Script {
  keys: readonly StoreKey[];
  /** Keys the caller passes after the declared ones (a lock's, named by the caller). */
  extraKeys: number;
  lua: string;
}

// Not HINCRBYFLOAT: it keeps 17 decimal places, so tiny amounts would vanish and the sum would
// differ from SQLite's. %.17g gives back the exact double.
const exact = `local function exact(n) return string.format('%.17g', n) end`;

/**
 * `removeBuy(apiKey, buy)`: the buy's entry, pending amount and identity go; an adapter buy's
 * client key is kept as ended; its limits and counters go. For scripts that declare buys, pending,
 * identities, clients, ended-clients, limits and limit-counters.
 */
export const removeBuy = `
  local function removeBuy(apiKey, buy)
    redis.call('HDEL', buys, apiKey)
    redis.call('HDEL', pending, apiKey)
    redis.call('HDEL', identities, buy.identity)
    redis.call('HDEL', limits, buy.publicPath .. '\\n' .. apiKey)
    redis.call('HDEL', limitCounters, apiKey)
    if buy.clientKey then
      redis.call('HDEL', clients, buy.clientKey)
      redis.call('HSET', endedClients, buy.clientKey, buy.publicPath)
    end
  end`;

/**
 * \`replaceCatalog(path, previousJson, nextJson)\`: the service's catalog ids (JSON of a
 * ServiceCatalog, '' for none) in the \`catalog\` hash (\`<kind>|<id>\` → public path) become
 * those of nextJson; answers {'CATALOG_ID_TAKEN', …} and changes nothing when another service has
 * one of them. For scripts that declare catalog.
 */
export const replaceCatalog = `
  local function catalogIds(json)
    local ids = {}
    if json == nil or json == '' then return ids end
    local decoded = cjson.decode(json)
    for _, id in ipairs(decoded.offerings or {}) do ids[#ids + 1] = {'offering', id} end
    for _, id in ipairs(decoded.productSpecs or {}) do
      ids[#ids + 1] = {'product specification', id}
    end
    return ids
  end
  local function replaceCatalog(path, previousJson, nextJson)
    local next = catalogIds(nextJson)
    for _, entry in ipairs(next) do
      local owner = redis.call('HGET', catalog, entry[1] .. '|' .. entry[2])
      if owner and owner ~= path then return {'CATALOG_ID_TAKEN', entry[1], entry[2], owner} end
    end
    for _, entry in ipairs(catalogIds(previousJson)) do
      redis.call('HDEL', catalog, entry[1] .. '|' .. entry[2])
    end
    for _, entry in ipairs(next) do redis.call('HSET', catalog, entry[1] .. '|' .. entry[2], path) end
    return nil
  end`;

export const bump = `
  redis.call('HINCRBY', counters, 'routing-version', 1)
  redis.call('PUBLISH', ARGV[1], 'routing')`;

/** `local usageWriters, pending = KEYS[1], KEYS[2]`: each key under its name in camel case. */
export function keyLocals(keys: readonly StoreKey[]): string {
  if (keys.length === 0) return '';
  const locals = keys.map((key) => key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()));
  return `local ${locals.join(', ')} = ${keys.map((_, i) => `KEYS[${i + 1}]`).join(', ')}`;
}

/** A script with its declared keys bound to Lua locals of the same names. */
export function script(keys: readonly StoreKey[], body: string, extraKeys = 0): Script {
  const header = keyLocals(keys);
  return { keys, extraKeys, lua: `${header}\n${exact}\n${body}` };
}
