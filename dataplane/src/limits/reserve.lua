-- Reserves an amount on every budget of one key, or on none. KEYS: per budget, its state hash
-- then its lease set. ARGV: lease id, amount (micro-USD), lease (ms), then per budget its
-- window (day|month|total) and limit. Returns {1, 0, 0, now} when reserved, else
-- {0, the budget's index (1-based), what it has used, now}.
local id, amount, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #KEYS / 2
for i = 1, n do
  local used = prepare(KEYS[2 * i - 1], KEYS[2 * i], ARGV[2 + 2 * i])
  if used + amount > tonumber(ARGV[3 + 2 * i]) then
    return {0, i, used, now}
  end
end
for i = 1, n do
  local state, leases = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('HINCRBY', state, 'reserved', amount)
  redis.call('HSET', state, 'l:' .. id, amount)
  redis.call('ZADD', leases, now_ms + lease, id)
end
return {1, 0, 0, now}
