/**
 * The Redis store's scripts for limits (see scripts.ts for the conventions). `limits` maps
 * `<publicPath>\n<apiKey>` (an empty key for the service) to the JSON of its Limits;
 * `limit-counters` maps an API key to `{w, c, p, s}`: the rate window and its count, the quota
 * period and the amount spent in it (%.17g).
 */
import { bump, script } from './script.ts';

export const limitScripts = {
  // ARGV: path, limits JSON ('' clears), orderId and productId ('' for the service).
  setLimits: script(
    ['services', 'buys', 'limits', 'counters'],
    `local path, json, orderId, productId = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
    if redis.call('HEXISTS', services, path) == 0 then return {'SERVICE_NOT_FOUND', path} end
    local apiKeys = {}
    if orderId == '' then
      apiKeys[1] = ''
    else
      local all = redis.call('HGETALL', buys)
      for i = 1, #all, 2 do
        local buy = cjson.decode(all[i + 1])
        if not buy.revoked and buy.publicPath == path and buy.orderId == orderId
          and buy.productId == productId then
          apiKeys[#apiKeys + 1] = all[i]
        end
      end
      if #apiKeys == 0 then return {'LIMITS_BUY_NOT_FOUND', path, orderId, productId} end
    end
    for _, apiKey in ipairs(apiKeys) do
      if json == '' then redis.call('HDEL', limits, path .. '\\n' .. apiKey)
      else redis.call('HSET', limits, path .. '\\n' .. apiKey, json) end
    end
    ${bump}
    return 'OK'`,
  ),

  // ARGV: apiKey, rate window ('' for none), rate limit, quota period ('' for none), quota, reserve.
  // Answers {admitted 0|1, refused by ('' | 'rate' | 'quota'), rate count, quota spent}.
  admit: script(
    ['buys', 'limit-counters'],
    `local apiKey, window, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
    local period, quota, reserve = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
    local raw = redis.call('HGET', limitCounters, apiKey)
    local counters = raw and cjson.decode(raw) or {}
    local count = (window ~= '' and counters.w == window) and tonumber(counters.c) or 0
    local spent = (period ~= '' and counters.p == period) and tonumber(counters.s) or 0
    if window ~= '' and count >= limit then return {0, 'rate', count, exact(spent)} end
    if period ~= '' and (spent >= quota or spent + reserve > quota) then
      return {0, 'quota', count, exact(spent)}
    end
    if redis.call('HEXISTS', buys, apiKey) == 0 then return {0, '', count, exact(spent)} end
    if window ~= '' then
      count = count + 1
      counters.w, counters.c = window, count
    end
    if period ~= '' then
      spent = spent + reserve
      counters.p, counters.s = period, exact(spent)
    end
    redis.call('HSET', limitCounters, apiKey, cjson.encode(counters))
    return {1, '', count, exact(spent)}`,
  ),

  // ARGV: apiKey, period, amount.
  releaseReservation: script(
    ['limit-counters'],
    `local apiKey, period, amount = ARGV[2], ARGV[3], tonumber(ARGV[4])
    local raw = redis.call('HGET', limitCounters, apiKey)
    if not raw then return 'OK' end
    local counters = cjson.decode(raw)
    if counters.p ~= period then return 'OK' end
    counters.s = exact(math.max(0, tonumber(counters.s) - amount))
    redis.call('HSET', limitCounters, apiKey, cjson.encode(counters))
    return 'OK'`,
  ),
};

/**
 * \`spendQuota(apiKey, period, amount)\`: a metered amount spent in the buy's quota period; a later
 * period starts from zero, an earlier one's amount is dropped. For scripts that declare
 * limit-counters.
 */
export const spendQuota = `
  local function spendQuota(apiKey, period, amount)
    local raw = redis.call('HGET', limitCounters, apiKey)
    local counters = raw and cjson.decode(raw) or {}
    if counters.p == period then
      counters.s = exact(tonumber(counters.s) + amount)
    elseif counters.p == nil or counters.p < period then
      counters.p, counters.s = period, exact(amount)
    else
      return
    end
    redis.call('HSET', limitCounters, apiKey, cjson.encode(counters))
  end`;
