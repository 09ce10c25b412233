/**
 * Moves a store written by the first key layout (one Redis key per service, buy, binding and
 * subscription, named `<prefix><kind>:<id>`) into today's fixed keys under the store's hash tag,
 * once, in one script. The first layout could only run on a single Redis (Cluster refused its
 * scripts), so only there does this script read keys it was not given: the old names are built
 * from the prefix here.
 */
import { STORE_KEYS } from './keys.ts';
import { keyLocals } from './script.ts';

export const LAYOUT = '2';

// KEYS: STORE_KEYS in order; ARGV[1]: the change channel, ARGV[2]: the prefix, ARGV[3]: now.
export const migrateFirstLayout = `
${keyLocals(STORE_KEYS)}
if redis.call('HGET', counters, 'layout') == '${LAYOUT}' then return 0 end
local P = ARGV[2]
local function old(...) return P .. table.concat({...}, ':') end
local function hash(key)
  local flat, t = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local moved = 0
for _, path in ipairs(redis.call('SMEMBERS', old('services'))) do
  local s = hash(old('service', path))
  redis.call('HSET', services, path, cjson.encode({ url = s.url or '', appId = s.appId or '',
    methods = s.methods or '', isContextBroker = s.isContextBroker or '0' }))
  for _, admin in ipairs(redis.call('SMEMBERS', old('service-admins', path))) do
    redis.call('SADD', bindings, cjson.encode({admin, path}))
  end
  redis.call('DEL', old('service', path), old('service-admins', path), old('service-buys', path))
  moved = moved + 1
end
for _, admin in ipairs(redis.call('SMEMBERS', old('admins'))) do
  redis.call('SADD', admins, admin)
  redis.call('DEL', old('admin-services', admin))
end
local apiKeys = redis.call('ZRANGE', old('buys'), 0, -1)
for _, apiKey in ipairs(redis.call('SMEMBERS', old('revoked-buys'))) do
  table.insert(apiKeys, apiKey)
end
for _, apiKey in ipairs(apiKeys) do
  local b = hash(old('buy', apiKey))
  if b.publicPath then
    redis.call('HSET', buys, apiKey, cjson.encode({ publicPath = b.publicPath,
      orderId = b.orderId or '', productId = b.productId or '', customer = b.customer or '',
      unit = b.unit or '', recordType = b.recordType or '', seq = tonumber(b.seq or '0'),
      identity = b.identity or '', revoked = b.revoked == '1',
      correlationNumber = tonumber(b.correlationNumber or '0'), outboxValue = b.outboxValue,
      outboxDate = b.outboxDate, lastRecordDate = b.lastRecordDate,
      reportStatus = b.reportStatus }))
    redis.call('HSET', pending, apiKey, b.pending or '0')
    if b.identity then
      redis.call('HSET', identities, b.identity, apiKey)
      redis.call('DEL', old('buy-identity', b.identity))
    end
    if b.customer then redis.call('DEL', old('customer-buys', b.customer)) end
  end
  for _, id in ipairs(redis.call('SMEMBERS', old('buy-subscriptions', apiKey))) do
    local s = hash(old('subscription', id))
    if s.apiKey then
      redis.call('HSET', subscriptions, id, cjson.encode({ apiKey = s.apiKey,
        notificationUrl = s.notificationUrl or '', version = s.version or 'v2',
        secret = s.secret or '', fiwareService = s.fiwareService or '',
        fiwareServicePath = s.fiwareServicePath or '' }))
    end
    redis.call('DEL', old('subscription', id))
  end
  redis.call('DEL', old('buy-subscriptions', apiKey), old('buy', apiKey))
  moved = moved + 1
end
for _, pair in ipairs({ {'usage-writers', usageWriters}, {'specifications', specifications},
    {'marketplace-keys', marketplaceKeys} }) do
  local flat = redis.call('HGETALL', old(pair[1]))
  for i = 1, #flat, 2 do redis.call('HSET', pair[2], flat[i], flat[i + 1]) end
  moved = moved + #flat / 2
end
for _, counter in ipairs({'buy-seq', 'marketplace-key-seq', 'routing-version'}) do
  local value = redis.call('GET', old(counter))
  if value then redis.call('HSET', counters, counter, value) end
end
-- The single token of the layout before: the only marketplace key.
local token = redis.call('GET', old('marketplace-token'))
if token and redis.call('HLEN', marketplaceKeys) == 0 then
  local seq = redis.call('HINCRBY', counters, 'marketplace-key-seq', 1)
  redis.call('HSET', marketplaceKeys, token,
    cjson.encode({ seq = seq, receivedAt = ARGV[3], state = 'untried' }))
end
redis.call('DEL', old('services'), old('admins'), old('buys'), old('revoked-buys'),
  old('usage-writers'), old('specifications'), old('marketplace-keys'), old('buy-seq'),
  old('marketplace-key-seq'), old('routing-version'), old('marketplace-token'))
redis.call('HSET', counters, 'layout', '${LAYOUT}')
redis.call('HINCRBY', counters, 'routing-version', 1)
redis.call('PUBLISH', ARGV[1], 'routing')
return moved`;
