-- Tokens under a rolling minute's limit. KEYS[1]: the key's window (a hash of the server's
-- Unix second -> tokens taken in it). ARGV[1]: the limit, ARGV[2]: the amount. Seconds older
-- than the minute leave first. Returns {1, the second it was counted in, used} when taken,
-- else {0, milliseconds until enough of the window has left (-1: never, the amount is over
-- the limit), used}.
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, amount = tonumber(ARGV[1]), tonumber(ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local live, used = {}, 0
for i = 1, #all, 2 do
  local s, a = tonumber(all[i]), tonumber(all[i + 1])
  if s + 60 > sec then
    used = used + a
    live[#live + 1] = {s, a}
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if used + amount <= limit then
  redis.call('HINCRBY', KEYS[1], sec, amount)
  -- Long enough for a request's settle to land in its second while it counts.
  redis.call('PEXPIRE', KEYS[1], 120000)
  return {1, sec, used + amount}
end
if amount > limit then
  return {0, -1, used}
end
-- Oldest first: the earliest second whose leaving makes room.
table.sort(live, function(x, y) return x[1] < y[1] end)
local left = used
for _, b in ipairs(live) do
  left = left - b[2]
  if left + amount <= limit then
    return {0, (b[1] + 60) * 1000 - now, used}
  end
end
return {0, 60000, used}
