-- Raises a key's spent counter to the ledger's figure, never lowers it (the ledger lags the
-- counters). KEYS: state hash, lease set. ARGV: window, the seed's window start, micro-USD.
-- A seed for another window than the current one is ignored.
local used, start = prepare(KEYS[1], KEYS[2], ARGV[1])
if tonumber(ARGV[2]) ~= start then return 0 end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local seed = tonumber(ARGV[3])
if seed > spent then
  redis.call('HSET', KEYS[1], 'spent', seed)
  return 1
end
return 0
