/**
 * The scripts of adapter services: products and the session of an adapter buy; conventions as in
 * scripts.ts. A buy's session lives in its JSON (`session`: total as %.17g, countedAt in epoch ms,
 * open), so a session event and the usage it meters are one script.
 */
import { spendQuota } from './limit-scripts.ts';
import { bump, removeBuy, script } from './script.ts';

export const adapterScripts = {
  // ARGV[2]: product id, ARGV[3]: public path, ARGV[4]: product JSON, ARGV[5]: '1' to replace.
  setProduct: script(
    ['services', 'products'],
    `local productId, path = ARGV[2], ARGV[3]
    local service = redis.call('HGET', services, path)
    if not service then return {'SERVICE_NOT_FOUND', path} end
    if cjson.decode(service).adapter ~= '1' then return {'SERVICE_NOT_ADAPTER', path} end
    local product = cjson.decode(ARGV[4])
    local entries = redis.call('HGETALL', products)
    for i = 1, #entries, 2 do
      local existing = cjson.decode(entries[i + 1])
      if existing.publicPath == path then
        if ARGV[5] ~= '1' then return {'PRODUCT_EXISTS', path} end
        -- New credentials; the configuration stays, what was given added to it.
        for key, value in pairs(product.config) do existing.config[key] = value end
        product.config, product.endpointAddress = existing.config, existing.endpointAddress
        redis.call('HDEL', products, entries[i])
      end
    end
    redis.call('HSET', products, productId, cjson.encode(product))
    return 'OK'`,
  ),

  // ARGV[2]: product id, ARGV[3]: config JSON, ARGV[4]: endpoint address ('' for none).
  setProductConfig: script(
    ['products'],
    `local raw = redis.call('HGET', products, ARGV[2])
    if not raw then return {'PRODUCT_NOT_FOUND', ARGV[2]} end
    local product = cjson.decode(raw)
    product.config = cjson.decode(ARGV[3])
    if ARGV[4] == '' then product.endpointAddress = nil else product.endpointAddress = ARGV[4] end
    redis.call('HSET', products, ARGV[2], cjson.encode(product))
    return 'OK'`,
  ),

  // ARGV[2]: client key.
  setClientReady: script(
    ['clients', 'buys'],
    `local apiKey = redis.call('HGET', clients, ARGV[2])
    if not apiKey then return 'OK' end
    local raw = redis.call('HGET', buys, apiKey)
    if not raw then return 'OK' end
    local buy = cjson.decode(raw)
    if buy.revoked or buy.ready then return 'OK' end
    buy.ready = true
    redis.call('HSET', buys, apiKey, cjson.encode(buy))
    return 'OK'`,
  ),

  // ARGV[2]: client key, ARGV[3]: start, update or stop, ARGV[4]: the update's units, ARGV[5]:
  // now (epoch ms), ARGV[6]: the session rates per unit (JSON), ARGV[7] and ARGV[8]: the quota's
  // period ('' for none) and amount. Answers {result, amount, '1' once the quota is spent}: the
  // rule of applySessionEvent (store/adapter.ts).
  recordSession: script(
    [
      'clients',
      'buys',
      'pending',
      'identities',
      'ended-clients',
      'limits',
      'limit-counters',
      'counters',
    ],
    `${removeBuy}
    ${spendQuota}
    local event, units, now = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
    local period, quota = ARGV[7], tonumber(ARGV[8])
    local apiKey = redis.call('HGET', clients, ARGV[2])
    local raw = apiKey and redis.call('HGET', buys, apiKey)
    if not raw then return {'not-found', '0', '0'} end
    local buy = cjson.decode(raw)
    local revoked = buy.revoked
    if revoked and event == 'start' then return {'revoked', '0', '0'} end
    local function spentNow()
      local counters = redis.call('HGET', limitCounters, apiKey)
      local c = counters and cjson.decode(counters) or {}
      if c.p == period then return tonumber(c.s) end
      return 0
    end
    local spentBefore = period ~= '' and spentNow() or 0
    if period ~= '' and event == 'start' and spentBefore >= quota then
      return {'over-quota', '0', '1'}
    end
    local s = buy.session
    local open = s ~= nil and s.open
    if not revoked and event == 'update' and not open then return {'no-session', '0'} end
    local rates = cjson.decode(ARGV[6])[buy.unit] or {}
    local perStart, perByte, perMs = rates.perStart or 0, rates.perByte or 0, rates.perMs or 0
    local openTime = 0
    if open then openTime = math.max(0, now - s.countedAt) end
    local timeAmount = openTime * perMs
    local amount = 0
    if event == 'start' then
      amount = timeAmount + perStart
      s = { total = '0', countedAt = now, open = true }
      buy.ready = true
    elseif event == 'stop' then
      if open then
        amount = timeAmount
        s.countedAt, s.open = now, false
      end
    elseif open and units ~= tonumber(s.total) then
      local added = units
      if units > tonumber(s.total) then added = units - tonumber(s.total) end
      amount = added * perByte + timeAmount
      s = { total = exact(units), countedAt = now, open = true }
    end
    -- A deleted buy's session ends with the update that meters its last usage.
    if s and revoked then s.open = false end
    local over = '0'
    if period ~= '' then
      if amount > 0 then spendQuota(apiKey, period, amount) end
      if spentNow() >= quota then
        over = '1'
        if spentBefore < quota then
          ${bump}
        end
      end
    end
    local left = tonumber(redis.call('HGET', pending, apiKey)) + amount
    redis.call('HSET', pending, apiKey, exact(left))
    if revoked and left == 0 and not buy.outboxValue then
      removeBuy(apiKey, buy)
    else
      buy.session = s
      redis.call('HSET', buys, apiKey, cjson.encode(buy))
    end
    if revoked then return {'revoked', exact(amount), over} end
    return {'recorded', exact(amount), over}`,
  ),
} as const;
