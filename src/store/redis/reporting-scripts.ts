/**
 * The scripts of the report cycle (the outbox of one buy, marketplace keys) and of named locks;
 * conventions as in scripts.ts.
 */
import { removeBuy, script } from './script.ts';

export const reportingScripts = {
  // ARGV[2]: apiKey, ARGV[3]: now (ISO 8601). Answers {buy JSON, pending}, or nil with nothing
  // to send.
  prepareRecord: script(
    ['buys', 'pending'],
    `local apiKey = ARGV[2]
    local raw = redis.call('HGET', buys, apiKey)
    if not raw then return nil end
    local buy = cjson.decode(raw)
    -- A purchase of the TMF v4 marketplace is reported by windows (prepareWindowRecord).
    if buy.terms then return nil end
    if not buy.outboxValue then
      local amount = redis.call('HGET', pending, apiKey)
      if tonumber(amount) <= 0 then return nil end
      -- Dates of one buy's records never go back, even if this host's clock does.
      local date = ARGV[3]
      if buy.lastRecordDate and buy.lastRecordDate > date then date = buy.lastRecordDate end
      buy.outboxValue, buy.outboxDate = amount, date
      raw = cjson.encode(buy)
      redis.call('HSET', buys, apiKey, raw)
      redis.call('HSET', pending, apiKey, '0')
    end
    return {raw, redis.call('HGET', pending, apiKey)}`,
  ),

  // ARGV[2]: apiKey, ARGV[3]: windows that started before it are closed (epoch ms).
  prepareWindowRecord: script(
    ['buys', 'pending', 'windows'],
    `local apiKey, closedBefore = ARGV[2], tonumber(ARGV[3])
    local raw = redis.call('HGET', buys, apiKey)
    if not raw then return nil end
    local buy = cjson.decode(raw)
    if buy.outboxValue then
      if not buy.outboxWindow then return nil end
      return {buy.outboxWindow, buy.outboxValue, buy.outboxLastAt, buy.correlationNumber}
    end
    local prefix = apiKey .. '|'
    local oldest, others = nil, 0
    for _, field in ipairs(redis.call('HKEYS', windows)) do
      if string.sub(field, 1, #prefix) == prefix then
        local start = tonumber(string.sub(field, #prefix + 1))
        others = others + 1
        if start < closedBefore and (not oldest or start < oldest) then oldest = start end
      end
    end
    if not oldest then return nil end
    local field = prefix .. string.format('%d', oldest)
    local sum, lastAt = string.match(redis.call('HGET', windows, field), '^(%S+) (%S+)$')
    redis.call('HDEL', windows, field)
    -- The last window takes what is left exactly: the two sums may differ in their last bits.
    local left = '0'
    if others > 1 then left = exact(tonumber(redis.call('HGET', pending, apiKey)) - tonumber(sum)) end
    redis.call('HSET', pending, apiKey, left)
    buy.outboxWindow, buy.outboxValue, buy.outboxLastAt = string.format('%d', oldest), sum, lastAt
    if not buy.lastWindow or tonumber(buy.lastWindow) < oldest then
      buy.lastWindow = string.format('%d', oldest)
    end
    redis.call('HSET', buys, apiKey, cjson.encode(buy))
    return {buy.outboxWindow, sum, lastAt, buy.correlationNumber}`,
  ),

  // ARGV[2]: apiKey, ARGV[3]: the correlation number the usage API took.
  completeRecord: script(
    ['buys', 'pending', 'identities', 'clients', 'ended-clients', 'limits', 'limit-counters'],
    `${removeBuy}
    local apiKey = ARGV[2]
    local raw = redis.call('HGET', buys, apiKey)
    if not raw then return 'OK' end
    local buy = cjson.decode(raw)
    if not buy.outboxValue or buy.correlationNumber ~= tonumber(ARGV[3]) then return 'OK' end
    buy.lastRecordDate = buy.outboxDate
    buy.reported = exact(tonumber(buy.reported or '0') + tonumber(buy.outboxValue))
    buy.outboxValue, buy.outboxDate, buy.reportStatus = nil, nil, nil
    buy.outboxWindow, buy.outboxLastAt = nil, nil
    buy.correlationNumber = buy.correlationNumber + 1
    local sessionOpen = buy.session and buy.session.open
    if buy.revoked and tonumber(redis.call('HGET', pending, apiKey)) == 0 and not sessionOpen then
      removeBuy(apiKey, buy)
    else
      redis.call('HSET', buys, apiKey, cjson.encode(buy))
    end
    return 'OK'`,
  ),

  // ARGV[2]: apiKey, ARGV[3]: the outbox record's correlation number, ARGV[4]: JSON or '' to clear.
  setReportStatus: script(
    ['buys'],
    `local raw = redis.call('HGET', buys, ARGV[2])
    if not raw then return 'OK' end
    local buy = cjson.decode(raw)
    if not buy.outboxValue or buy.correlationNumber ~= tonumber(ARGV[3]) then return 'OK' end
    if ARGV[4] == '' then buy.reportStatus = nil else buy.reportStatus = ARGV[4] end
    redis.call('HSET', buys, ARGV[2], cjson.encode(buy))
    return 'OK'`,
  ),

  // ARGV[2]: apiKey, ARGV[3]: the reason a module failed to count.
  recordMeterFault: script(
    ['buys'],
    `local raw = redis.call('HGET', buys, ARGV[2])
    if not raw then return 'OK' end
    local buy = cjson.decode(raw)
    buy.meterFaults = buy.meterFaults or {}
    buy.meterFaults[ARGV[3]] = (buy.meterFaults[ARGV[3]] or 0) + 1
    redis.call('HSET', buys, ARGV[2], cjson.encode(buy))
    return 'OK'`,
  ),

  // ARGV[2]: key, ARGV[3]: received at (ISO 8601), ARGV[4]: how many keys are kept. Each field of
  // the hash is a key, its value the JSON of {seq, receivedAt, state, checkedAt}.
  addMarketplaceKey: script(
    ['marketplace-keys', 'counters'],
    `local field = ARGV[2]
    local seq = redis.call('HINCRBY', counters, 'marketplace-key-seq', 1)
    local entry = { state = 'untried' }
    local known = redis.call('HGET', marketplaceKeys, field)
    if known then entry = cjson.decode(known) end
    entry.seq, entry.receivedAt = seq, ARGV[3]
    redis.call('HSET', marketplaceKeys, field, cjson.encode(entry))
    local entries = redis.call('HGETALL', marketplaceKeys)
    local kept = tonumber(ARGV[4])
    if #entries / 2 > kept then
      local order = {}
      for i = 1, #entries, 2 do
        table.insert(order, { entries[i], cjson.decode(entries[i + 1]).seq })
      end
      table.sort(order, function(a, b) return a[2] > b[2] end)
      for i = kept + 1, #order do redis.call('HDEL', marketplaceKeys, order[i][1]) end
    end
    return 'OK'`,
  ),

  // ARGV[2]: key, ARGV[3]: state, ARGV[4]: checked at (ISO 8601).
  setMarketplaceKeyState: script(
    ['marketplace-keys'],
    `local known = redis.call('HGET', marketplaceKeys, ARGV[2])
    if not known then return 'OK' end
    local entry = cjson.decode(known)
    entry.state, entry.checkedAt = ARGV[3], ARGV[4]
    redis.call('HSET', marketplaceKeys, ARGV[2], cjson.encode(entry))
    return 'OK'`,
  ),

  // KEYS[1]: the lock; ARGV[2]: owner, ARGV[3]: ttl in ms.
  acquireLock: script(
    [],
    `local holder = redis.call('GET', KEYS[1])
    if holder and holder ~= ARGV[2] then return 0 end
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1`,
    1,
  ),

  releaseLock: script(
    [],
    `if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
    return 'OK'`,
    1,
  ),
} as const;
