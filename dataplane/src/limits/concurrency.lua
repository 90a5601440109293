-- A slot under a concurrency limit. KEYS[1]: the key's slots (a sorted set of lease ids scored
-- by when each lease expires, the server's milliseconds). ARGV[1]: the limit, ARGV[2]: this
-- request's lease id, ARGV[3]: the lease (ms). Expired leases (a replica that died holding
-- them) leave first. Returns {1, slots held now} when taken, else {0, slots held}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then
  return {0, n}
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease)
return {1, n + 1}
