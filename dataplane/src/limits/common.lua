-- Shared by the budget scripts (prepended to each): the Redis server's clock and UTC windows.
-- Times come from TIME inside the script, never from a replica, so replicas with skewed clocks
-- agree on windows and lease expiry. Numbers are Lua doubles: exact for integers below 2^53
-- (micro-USD amounts are capped at 2^40, times are milliseconds).
local t = redis.call('TIME')
local now = tonumber(t[1])
local now_ms = now * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Howard Hinnant's days_from_civil / civil_from_days, as auth::claims has them.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end

-- When the window `w` holding `at` began, and when it ends (-1: never).
local function window(w, at)
  if w == 'total' then return 0, -1 end
  local day = math.floor(at / 86400)
  if w == 'day' then return day * 86400, (day + 1) * 86400 end
  local y, m = civil_from_days(day)
  local start = days_from_civil(y, m, 1) * 86400
  if m == 12 then y, m = y + 1, 1 else m = m + 1 end
  return start, days_from_civil(y, m, 1) * 86400
end

-- Rolls `state` into the current window (spent starts again; reservations stay, they settle
-- into the window they end in) and expires the leases of `leases` that are past due.
-- Returns spent + reserved, and the window's start.
local function prepare(state, leases, w)
  local start, finish = window(w, now)
  local cur = tonumber(redis.call('HGET', state, 'start') or '-1')
  if cur < start then
    redis.call('HSET', state, 'start', start, 'spent', 0)
  end
  local gone = redis.call('ZRANGEBYSCORE', leases, '-inf', now_ms)
  if #gone > 0 then
    for _, id in ipairs(gone) do
      local a = tonumber(redis.call('HGET', state, 'l:' .. id) or '0')
      redis.call('HDEL', state, 'l:' .. id)
      redis.call('HINCRBY', state, 'reserved', -a)
    end
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now_ms)
  end
  if finish > 0 then
    -- Past the window's end and every lease, the counters mean nothing.
    redis.call('EXPIREAT', state, finish + 3600)
    redis.call('EXPIREAT', leases, finish + 3600)
  end
  local spent = tonumber(redis.call('HGET', state, 'spent') or '0')
  local reserved = tonumber(redis.call('HGET', state, 'reserved') or '0')
  return spent + reserved, start
end
