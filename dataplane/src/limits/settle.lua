-- Ends a reservation, charging the actual cost (0: release). KEYS as reserve.lua's. ARGV: lease
-- id, actual (micro-USD), then per budget its window. A lease that already expired is gone;
-- its actual cost is still charged (as on one replica).
local id, actual = ARGV[1], tonumber(ARGV[2])
local n = #KEYS / 2
for i = 1, n do
  local state, leases = KEYS[2 * i - 1], KEYS[2 * i]
  prepare(state, leases, ARGV[2 + i])
  if actual > 0 then
    redis.call('HINCRBY', state, 'spent', actual)
  end
  local a = redis.call('HGET', state, 'l:' .. id)
  if a then
    redis.call('HDEL', state, 'l:' .. id)
    redis.call('HINCRBY', state, 'reserved', -tonumber(a))
    redis.call('ZREM', leases, id)
  end
end
return 1
