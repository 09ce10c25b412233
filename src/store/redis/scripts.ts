/**
 * Lua scripts for the Redis store. Each runs atomically on the server, so a check and the write it
 * guards can never interleave with another proxy or CLI sharing the same Redis. Every key a script
 * touches is declared (`keys`, passed as KEYS in that order) and shares the store's hash tag, so
 * Redis Cluster runs them on the one node that holds the store. ARGV[1] is always the channel that
 * routing changes are published on. A script answers 'OK' or an array
 * `{ERROR_CODE, ...message args}`.
 *
 * Values: `services`, `buys` and `subscriptions` map an id to a JSON object, `bindings` holds
 * `[admin, publicPath]` arrays as JSON, `pending` maps an API key to its unreported amount,
 * `products` a product id to its JSON, `clients` an adapter buy's client key to its API key.
 */
import { adapterScripts } from './adapter-scripts.ts';
import { limitScripts, spendQuota } from './limit-scripts.ts';
import { reportingScripts } from './reporting-scripts.ts';
import { bump, removeBuy, replaceCatalog, script } from './script.ts';

export const scripts = {
  addService: script(
    ['services', 'catalog', 'counters'],
    `${replaceCatalog}
    local path, replace, catalogJson = ARGV[2], ARGV[3], ARGV[9]
    local existing = redis.call('HGET', services, path)
    if existing and replace ~= '1' then return {'SERVICE_EXISTS', path} end
    local previous = existing and cjson.decode(existing).catalog or ''
    if catalogJson == '' then
      catalogJson = previous
    else
      local taken = replaceCatalog(path, previous, catalogJson)
      if taken then return taken end
    end
    redis.call('HSET', services, path, cjson.encode({ url = ARGV[4], appId = ARGV[5],
      methods = ARGV[6], isContextBroker = ARGV[7], adapter = ARGV[8], catalog = catalogJson }))
    ${bump}
    return 'OK'`,
  ),

  setServiceCatalog: script(
    ['services', 'catalog', 'counters'],
    `${replaceCatalog}
    local path = ARGV[2]
    local existing = redis.call('HGET', services, path)
    if not existing then return {'SERVICE_NOT_FOUND', path} end
    local service = cjson.decode(existing)
    local taken = replaceCatalog(path, service.catalog or '', ARGV[3])
    if taken then return taken end
    service.catalog = ARGV[3]
    redis.call('HSET', services, path, cjson.encode(service))
    ${bump}
    return 'OK'`,
  ),

  deleteService: script(
    ['services', 'buys', 'bindings', 'products', 'ended-clients', 'catalog', 'counters'],
    `${replaceCatalog}
    local path = ARGV[2]
    local existing = redis.call('HGET', services, path)
    if not existing then return {'SERVICE_NOT_FOUND', path} end
    local count = 0
    for _, raw in ipairs(redis.call('HVALS', buys)) do
      if cjson.decode(raw).publicPath == path then count = count + 1 end
    end
    if count > 0 then return {'SERVICE_HAS_BUYS', path, count} end
    for _, member in ipairs(redis.call('SMEMBERS', bindings)) do
      if cjson.decode(member)[2] == path then redis.call('SREM', bindings, member) end
    end
    local entries = redis.call('HGETALL', products)
    for i = 1, #entries, 2 do
      if cjson.decode(entries[i + 1]).publicPath == path then redis.call('HDEL', products, entries[i]) end
    end
    local ended = redis.call('HGETALL', endedClients)
    for i = 1, #ended, 2 do
      if ended[i + 1] == path then redis.call('HDEL', endedClients, ended[i]) end
    end
    replaceCatalog(path, cjson.decode(existing).catalog or '', '')
    redis.call('HDEL', services, path)
    ${bump}
    return 'OK'`,
  ),

  addAdmin: script(
    ['admins', 'counters'],
    `if redis.call('SADD', admins, ARGV[2]) == 0 then return {'ADMIN_EXISTS', ARGV[2]} end
    ${bump}
    return 'OK'`,
  ),

  deleteAdmin: script(
    ['admins', 'bindings', 'counters'],
    `local admin = ARGV[2]
    if redis.call('SISMEMBER', admins, admin) == 0 then return {'ADMIN_NOT_FOUND', admin} end
    for _, member in ipairs(redis.call('SMEMBERS', bindings)) do
      if cjson.decode(member)[1] == admin then redis.call('SREM', bindings, member) end
    end
    redis.call('SREM', admins, admin)
    ${bump}
    return 'OK'`,
  ),

  bindAdmin: script(
    ['admins', 'services', 'bindings', 'counters'],
    `local admin, path = ARGV[2], ARGV[3]
    if redis.call('SISMEMBER', admins, admin) == 0 then return {'ADMIN_NOT_FOUND', admin} end
    if redis.call('HEXISTS', services, path) == 0 then return {'SERVICE_NOT_FOUND', path} end
    redis.call('SADD', bindings, cjson.encode({admin, path}))
    ${bump}
    return 'OK'`,
  ),

  unbindAdmin: script(
    ['bindings', 'counters'],
    `local admin, path = ARGV[2], ARGV[3]
    if redis.call('SREM', bindings, cjson.encode({admin, path})) == 0 then
      return {'ADMIN_NOT_BOUND', admin, path}
    end
    ${bump}
    return 'OK'`,
  ),

  // Answers the API key of the buy in force: the existing one for a known identity (ARGV[9]).
  // ARGV[10], ARGV[11]: an adapter buy's client key and password ('' for none); a buy keeps
  // the ones it has.
  addBuy: script(
    ['services', 'buys', 'pending', 'identities', 'clients', 'counters'],
    `local apiKey, path, customer, unit, identity = ARGV[2], ARGV[3], ARGV[6], ARGV[7], ARGV[9]
    local clientKey, clientPassword, terms = ARGV[10], ARGV[11], ARGV[12]
    if redis.call('HEXISTS', services, path) == 0 then return {'SERVICE_NOT_FOUND', path} end
    local existing = redis.call('HGET', identities, identity)
    if existing then
      local buy = cjson.decode(redis.call('HGET', buys, existing))
      local unsent = tonumber(redis.call('HGET', pending, existing)) > 0 or buy.outboxValue
      if buy.unit ~= unit and unsent then return {'BUY_UNIT_CHANGE', buy.unit, unit} end
      buy.unit, buy.recordType, buy.revoked = unit, ARGV[8], false
      if terms ~= '' then buy.terms = terms end
      if not buy.clientKey and clientKey ~= '' then
        buy.clientKey, buy.clientPassword = clientKey, clientPassword
        redis.call('HSET', clients, clientKey, existing)
      end
      redis.call('HSET', buys, existing, cjson.encode(buy))
      ${bump}
      return existing
    end
    local seq = redis.call('HINCRBY', counters, 'buy-seq', 1)
    redis.call('HSET', identities, identity, apiKey)
    local buy = { publicPath = path, orderId = ARGV[4],
      productId = ARGV[5], customer = customer, unit = unit, recordType = ARGV[8],
      correlationNumber = 0, revoked = false, seq = seq, identity = identity }
    if terms ~= '' then buy.terms = terms end
    if clientKey ~= '' then
      buy.clientKey, buy.clientPassword = clientKey, clientPassword
      redis.call('HSET', clients, clientKey, apiKey)
    end
    redis.call('HSET', buys, apiKey, cjson.encode(buy))
    redis.call('HSET', pending, apiKey, '0')
    ${bump}
    return apiKey`,
  ),

  revokeBuy: script(
    [
      'buys',
      'pending',
      'identities',
      'subscriptions',
      'clients',
      'ended-clients',
      'limits',
      'limit-counters',
      'counters',
    ],
    `${removeBuy}
    local apiKey = ARGV[2]
    local raw = redis.call('HGET', buys, apiKey)
    if not raw then return {'BUY_NOT_FOUND', apiKey} end
    local buy = cjson.decode(raw)
    if buy.revoked then return {'BUY_NOT_FOUND', apiKey} end
    local entries = redis.call('HGETALL', subscriptions)
    for i = 1, #entries, 2 do
      if cjson.decode(entries[i + 1]).apiKey == apiKey then
        redis.call('HDEL', subscriptions, entries[i])
      end
    end
    local sessionOpen = buy.session and buy.session.open
    if tonumber(redis.call('HGET', pending, apiKey)) > 0 or buy.outboxValue or sessionOpen then
      -- Unreported usage keeps the buy (revoked) until the usage reporter has sent it; an open
      -- adapter session keeps it until the adapter's next update has metered its last usage.
      buy.revoked = true
      redis.call('HSET', buys, apiKey, cjson.encode(buy))
    else
      removeBuy(apiKey, buy)
    end
    ${bump}
    return 'OK'`,
  ),

  // ARGV[2], ARGV[3]: writer ('' for none) and batch number; ARGV[4..6]: the batch's window
  // start, commit time and length ('' outside tmf4); ARGV[7..]: apiKey, amount, ...
  // Each writer's last applied batch number is kept, so a batch resent after a lost reply is
  // recognised and not added twice.
  addUsage: script(
    ['pending', 'usage-writers', 'buys', 'windows', 'limit-counters'],
    `${spendQuota}
    local writer, seq, windowStart, at, length = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
    if writer ~= '' then
      local last = tonumber(redis.call('HGET', usageWriters, writer) or '0')
      if seq <= last then return 'OK' end
      redis.call('HSET', usageWriters, writer, seq)
    end
    -- Per increment: API key, amount, quota period ('' for none).
    for i = 7, #ARGV, 3 do
      local apiKey, increment, quotaPeriod = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
      local amount = redis.call('HGET', pending, apiKey)
      if amount then
        redis.call('HSET', pending, apiKey, exact(tonumber(amount) + increment))
        if quotaPeriod ~= '' then spendQuota(apiKey, quotaPeriod, increment) end
        local buy = windowStart ~= '' and cjson.decode(redis.call('HGET', buys, apiKey))
        if buy and buy.terms then
          local start, lastAt = tonumber(windowStart), tonumber(at)
          -- A window already taken into a record: the usage goes to the one after the last taken.
          if buy.lastWindow and start <= tonumber(buy.lastWindow) then
            start = tonumber(buy.lastWindow) + tonumber(length)
            lastAt = math.max(lastAt, start)
          end
          -- "<amount> <last commit time>" per buy and window
          local field = apiKey .. '|' .. string.format('%d', start)
          local held = redis.call('HGET', windows, field)
          local sum = increment
          if held then
            local heldSum, heldAt = string.match(held, '^(%S+) (%S+)$')
            sum = tonumber(heldSum) + increment
            lastAt = math.max(tonumber(heldAt), lastAt)
          end
          redis.call('HSET', windows, field, exact(sum) .. ' ' .. string.format('%d', lastAt))
        end
      end
    end
    return 'OK'`,
  ),

  addSubscription: script(
    ['buys', 'subscriptions'],
    `local id, apiKey = ARGV[2], ARGV[3]
    if redis.call('HEXISTS', buys, apiKey) == 0 then return {'BUY_NOT_FOUND', apiKey} end
    redis.call('HSET', subscriptions, id, cjson.encode({ apiKey = apiKey, notificationUrl = ARGV[4],
      version = ARGV[5], secret = ARGV[6], fiwareService = ARGV[7], fiwareServicePath = ARGV[8] }))
    return 'OK'`,
  ),

  updateSubscriptionUrl: script(
    ['subscriptions'],
    `local raw = redis.call('HGET', subscriptions, ARGV[2])
    if not raw then return {'SUBSCRIPTION_NOT_FOUND'} end
    local subscription = cjson.decode(raw)
    subscription.notificationUrl = ARGV[3]
    redis.call('HSET', subscriptions, ARGV[2], cjson.encode(subscription))
    return 'OK'`,
  ),

  ...reportingScripts,
  ...adapterScripts,
  ...limitScripts,
} as const;

export type ScriptName = keyof typeof scripts;
