/**
 * Lua scripts for the Redis store. Each runs atomically on the server, so a check and the write it
 * guards can never interleave with another proxy or CLI sharing the same Redis. ARGV[1] is always
 * the key prefix. A script answers 'OK' or an array `{ERROR_CODE, ...message args}`.
 */

const keys = `
local P = ARGV[1]
local function k(...) return P .. table.concat({...}, ':') end
`;

const bump = `redis.call('INCR', k('routing-version'))`;

export const scripts = {
  addService: `${keys}
    local path, replace = ARGV[2], ARGV[3]
    if redis.call('SISMEMBER', k('services'), path) == 1 and replace ~= '1' then
      return {'SERVICE_EXISTS', path}
    end
    redis.call('SADD', k('services'), path)
    redis.call('HSET', k('service', path), 'url', ARGV[4], 'appId', ARGV[5], 'methods', ARGV[6],
      'isContextBroker', ARGV[7])
    ${bump}
    return 'OK'`,

  deleteService: `${keys}
    local path = ARGV[2]
    if redis.call('SISMEMBER', k('services'), path) == 0 then return {'SERVICE_NOT_FOUND', path} end
    local buys = redis.call('SCARD', k('service-buys', path))
    if buys > 0 then return {'SERVICE_HAS_BUYS', path, buys} end
    for _, admin in ipairs(redis.call('SMEMBERS', k('service-admins', path))) do
      redis.call('SREM', k('admin-services', admin), path)
    end
    redis.call('DEL', k('service-admins', path), k('service', path))
    redis.call('SREM', k('services'), path)
    ${bump}
    return 'OK'`,

  addAdmin: `${keys}
    if redis.call('SADD', k('admins'), ARGV[2]) == 0 then return {'ADMIN_EXISTS', ARGV[2]} end
    ${bump}
    return 'OK'`,

  deleteAdmin: `${keys}
    local admin = ARGV[2]
    if redis.call('SISMEMBER', k('admins'), admin) == 0 then return {'ADMIN_NOT_FOUND', admin} end
    for _, path in ipairs(redis.call('SMEMBERS', k('admin-services', admin))) do
      redis.call('SREM', k('service-admins', path), admin)
    end
    redis.call('DEL', k('admin-services', admin))
    redis.call('SREM', k('admins'), admin)
    ${bump}
    return 'OK'`,

  bindAdmin: `${keys}
    local admin, path = ARGV[2], ARGV[3]
    if redis.call('SISMEMBER', k('admins'), admin) == 0 then return {'ADMIN_NOT_FOUND', admin} end
    if redis.call('SISMEMBER', k('services'), path) == 0 then return {'SERVICE_NOT_FOUND', path} end
    redis.call('SADD', k('service-admins', path), admin)
    redis.call('SADD', k('admin-services', admin), path)
    ${bump}
    return 'OK'`,

  unbindAdmin: `${keys}
    local admin, path = ARGV[2], ARGV[3]
    if redis.call('SREM', k('service-admins', path), admin) == 0 then
      return {'ADMIN_NOT_BOUND', admin, path}
    end
    redis.call('SREM', k('admin-services', admin), path)
    ${bump}
    return 'OK'`,

  // Answers the API key of the buy in force: the existing one for a known identity (ARGV[9]).
  addBuy: `${keys}
    local apiKey, path, customer, unit, identity = ARGV[2], ARGV[3], ARGV[6], ARGV[7], ARGV[9]
    if redis.call('SISMEMBER', k('services'), path) == 0 then return {'SERVICE_NOT_FOUND', path} end
    local existing = redis.call('GET', k('buy-identity', identity))
    if existing then
      local buy = k('buy', existing)
      local f = redis.call('HMGET', buy, 'unit', 'pending', 'revoked', 'seq')
      local unsent = tonumber(f[2]) > 0 or redis.call('HEXISTS', buy, 'outboxValue') == 1
      if f[1] ~= unit and unsent then return {'BUY_UNIT_CHANGE', f[1], unit} end
      redis.call('HSET', buy, 'unit', unit, 'recordType', ARGV[8], 'revoked', '0')
      if f[3] == '1' then
        redis.call('ZADD', k('buys'), f[4], existing)
        redis.call('SADD', k('customer-buys', customer), existing)
        redis.call('SREM', k('revoked-buys'), existing)
      end
      ${bump}
      return existing
    end
    local seq = redis.call('INCR', k('buy-seq'))
    redis.call('SET', k('buy-identity', identity), apiKey)
    redis.call('ZADD', k('buys'), seq, apiKey)
    redis.call('HSET', k('buy', apiKey), 'publicPath', path, 'orderId', ARGV[4], 'productId', ARGV[5],
      'customer', customer, 'unit', unit, 'recordType', ARGV[8], 'pending', '0',
      'correlationNumber', '0', 'revoked', '0', 'seq', seq, 'identity', identity)
    redis.call('SADD', k('service-buys', path), apiKey)
    redis.call('SADD', k('customer-buys', customer), apiKey)
    ${bump}
    return apiKey`,

  revokeBuy: `${keys}
    local apiKey = ARGV[2]
    local buy = k('buy', apiKey)
    local f = redis.call('HMGET', buy, 'publicPath', 'customer', 'pending', 'revoked', 'identity',
      'outboxValue')
    if not f[1] or f[4] == '1' then return {'BUY_NOT_FOUND', apiKey} end
    for _, id in ipairs(redis.call('SMEMBERS', k('buy-subscriptions', apiKey))) do
      redis.call('DEL', k('subscription', id))
    end
    redis.call('DEL', k('buy-subscriptions', apiKey))
    redis.call('ZREM', k('buys'), apiKey)
    redis.call('SREM', k('customer-buys', f[2]), apiKey)
    if tonumber(f[3]) > 0 or f[6] then
      -- Unreported usage keeps the buy (revoked) until the usage reporter has sent it.
      redis.call('HSET', buy, 'revoked', '1')
      redis.call('SADD', k('revoked-buys'), apiKey)
    else
      redis.call('DEL', buy, k('buy-identity', f[5]))
      redis.call('SREM', k('service-buys', f[1]), apiKey)
    end
    ${bump}
    return 'OK'`,

  // ARGV[2], ARGV[3]: writer ('' for none) and batch number; ARGV[4..]: apiKey, amount, ...
  // Each writer's last applied batch number is kept, so a batch resent after a lost reply is
  // recognised and not added twice.
  addUsage: `${keys}
    local writer, seq = ARGV[2], tonumber(ARGV[3])
    if writer ~= '' then
      local last = tonumber(redis.call('HGET', k('usage-writers'), writer) or '0')
      if seq <= last then return 'OK' end
      redis.call('HSET', k('usage-writers'), writer, seq)
    end
    for i = 4, #ARGV, 2 do
      local buy = k('buy', ARGV[i])
      local pending = redis.call('HGET', buy, 'pending')
      if pending then
        -- Not HINCRBYFLOAT: it keeps 17 decimal places, so tiny amounts would vanish and the sum
        -- would differ from SQLite's. %.17g gives back the exact double.
        local sum = tonumber(pending) + tonumber(ARGV[i + 1])
        redis.call('HSET', buy, 'pending', string.format('%.17g', sum))
      end
    end
    return 'OK'`,

  addSubscription: `${keys}
    local id, apiKey = ARGV[2], ARGV[3]
    if redis.call('EXISTS', k('buy', apiKey)) == 0 then return {'BUY_NOT_FOUND', apiKey} end
    local previous = redis.call('HGET', k('subscription', id), 'apiKey')
    if previous then redis.call('SREM', k('buy-subscriptions', previous), id) end
    redis.call('HSET', k('subscription', id), 'apiKey', apiKey, 'notificationUrl', ARGV[4],
      'version', ARGV[5], 'secret', ARGV[6], 'fiwareService', ARGV[7], 'fiwareServicePath', ARGV[8])
    redis.call('SADD', k('buy-subscriptions', apiKey), id)
    return 'OK'`,

  updateSubscriptionUrl: `${keys}
    local id = ARGV[2]
    if redis.call('EXISTS', k('subscription', id)) == 0 then return {'SUBSCRIPTION_NOT_FOUND'} end
    redis.call('HSET', k('subscription', id), 'notificationUrl', ARGV[3])
    return 'OK'`,

  deleteSubscription: `${keys}
    local id = ARGV[2]
    local apiKey = redis.call('HGET', k('subscription', id), 'apiKey')
    if apiKey then redis.call('SREM', k('buy-subscriptions', apiKey), id) end
    redis.call('DEL', k('subscription', id))
    return 'OK'`,

  // ARGV[2]: apiKey, ARGV[3]: now (ISO 8601). Answers the buy's hash, or nil with nothing to send.
  prepareRecord: `${keys}
    local buy = k('buy', ARGV[2])
    local f = redis.call('HMGET', buy, 'pending', 'outboxValue', 'lastRecordDate')
    if not f[1] then return nil end
    if not f[2] then
      if tonumber(f[1]) <= 0 then return nil end
      -- Dates of one buy's records never go back, even if this host's clock does.
      local date = ARGV[3]
      if f[3] and f[3] > date then date = f[3] end
      redis.call('HSET', buy, 'outboxValue', f[1], 'outboxDate', date, 'pending', '0')
    end
    return redis.call('HGETALL', buy)`,

  // ARGV[2]: apiKey, ARGV[3]: the correlation number the usage API took.
  completeRecord: `${keys}
    local apiKey = ARGV[2]
    local buy = k('buy', apiKey)
    local f = redis.call('HMGET', buy, 'outboxValue', 'correlationNumber', 'outboxDate', 'revoked',
      'pending', 'publicPath', 'identity')
    if not f[1] or tonumber(f[2]) ~= tonumber(ARGV[3]) then return 'OK' end
    redis.call('HDEL', buy, 'outboxValue', 'outboxDate', 'reportStatus')
    redis.call('HSET', buy, 'lastRecordDate', f[3])
    redis.call('HINCRBY', buy, 'correlationNumber', 1)
    if f[4] == '1' and tonumber(f[5]) == 0 then
      redis.call('DEL', buy, k('buy-identity', f[7]))
      redis.call('SREM', k('service-buys', f[6]), apiKey)
      redis.call('SREM', k('revoked-buys'), apiKey)
    end
    return 'OK'`,

  // ARGV[2]: apiKey, ARGV[3]: the outbox record's correlation number, ARGV[4]: JSON or '' to clear.
  setReportStatus: `${keys}
    local buy = k('buy', ARGV[2])
    local f = redis.call('HMGET', buy, 'outboxValue', 'correlationNumber')
    if not f[1] or tonumber(f[2]) ~= tonumber(ARGV[3]) then return 'OK' end
    if ARGV[4] == '' then redis.call('HDEL', buy, 'reportStatus')
    else redis.call('HSET', buy, 'reportStatus', ARGV[4]) end
    return 'OK'`,

  // ARGV[2]: key, ARGV[3]: received at (ISO 8601), ARGV[4]: how many keys are kept. Each field of
  // the hash is a key, its value the JSON of {seq, receivedAt, state, checkedAt}.
  addMarketplaceKey: `${keys}
    local all, field = k('marketplace-keys'), ARGV[2]
    local seq = redis.call('INCR', k('marketplace-key-seq'))
    local entry = { state = 'untried' }
    local known = redis.call('HGET', all, field)
    if known then entry = cjson.decode(known) end
    entry.seq, entry.receivedAt = seq, ARGV[3]
    redis.call('HSET', all, field, cjson.encode(entry))
    local entries = redis.call('HGETALL', all)
    local kept = tonumber(ARGV[4])
    if #entries / 2 > kept then
      local order = {}
      for i = 1, #entries, 2 do
        table.insert(order, { entries[i], cjson.decode(entries[i + 1]).seq })
      end
      table.sort(order, function(a, b) return a[2] > b[2] end)
      for i = kept + 1, #order do redis.call('HDEL', all, order[i][1]) end
    end
    return 'OK'`,

  // ARGV[2]: key, ARGV[3]: state, ARGV[4]: checked at (ISO 8601).
  setMarketplaceKeyState: `${keys}
    local all = k('marketplace-keys')
    local known = redis.call('HGET', all, ARGV[2])
    if not known then return 'OK' end
    local entry = cjson.decode(known)
    entry.state, entry.checkedAt = ARGV[3], ARGV[4]
    redis.call('HSET', all, ARGV[2], cjson.encode(entry))
    return 'OK'`,

  // The single token of the first layout becomes the list's only key, once. ARGV[2]: now.
  migrateMarketplaceToken: `${keys}
    local legacy = redis.call('GET', k('marketplace-token'))
    if not legacy then return 'OK' end
    if redis.call('EXISTS', k('marketplace-keys')) == 0 then
      local seq = redis.call('INCR', k('marketplace-key-seq'))
      redis.call('HSET', k('marketplace-keys'), legacy,
        cjson.encode({ seq = seq, receivedAt = ARGV[2], state = 'untried' }))
    end
    redis.call('DEL', k('marketplace-token'))
    return 'OK'`,

  // ARGV[2]: lock name, ARGV[3]: owner, ARGV[4]: ttl in ms.
  acquireLock: `${keys}
    local lock = k('lock', ARGV[2])
    local holder = redis.call('GET', lock)
    if holder and holder ~= ARGV[3] then return 0 end
    redis.call('SET', lock, ARGV[3], 'PX', ARGV[4])
    return 1`,

  releaseLock: `${keys}
    local lock = k('lock', ARGV[2])
    if redis.call('GET', lock) == ARGV[3] then redis.call('DEL', lock) end
    return 'OK'`,

  // One consistent read of everything the proxy path routes by.
  routingState: `${keys}
    local services, bindings, buys = {}, {}, {}
    for _, path in ipairs(redis.call('SMEMBERS', k('services'))) do
      local s = redis.call('HMGET', k('service', path), 'url', 'appId', 'methods', 'isContextBroker')
      table.insert(services, {path, s[1], s[2], s[3], s[4]})
      for _, admin in ipairs(redis.call('SMEMBERS', k('service-admins', path))) do
        table.insert(bindings, {admin, path})
      end
    end
    for _, apiKey in ipairs(redis.call('ZRANGE', k('buys'), 0, -1)) do
      local b = redis.call('HMGET', k('buy', apiKey), 'publicPath', 'orderId', 'productId',
        'customer', 'unit', 'recordType')
      table.insert(buys, {apiKey, b[1], b[2], b[3], b[4], b[5], b[6]})
    end
    return {services, bindings, buys}`,
} as const;

export type ScriptName = keyof typeof scripts;
