-- One request under a rolling minute's limit. KEYS[1]: the key's log (a sorted set of request
-- ids scored by the server's milliseconds). ARGV[1]: the limit, ARGV[2]: this request's id.
-- Returns {1, 0} when admitted, else {0, milliseconds until the oldest request leaves}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = 60000
  if oldest[2] then wait = 60000 - (now - tonumber(oldest[2])) end
  return {0, wait}
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], 60000)
return {1, 0}
