-- Corrects the tokens a request took by its actual use. KEYS[1]: the key's window (as
-- tpm.lua's), ARGV[1]: the second it was counted in, ARGV[2]: actual less reserved (may be
-- negative). A second that has left the window (or the hash) is left alone. Returns 1 if
-- corrected.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return 0
end
local d = tonumber(ARGV[2])
if tonumber(cur) + d < 0 then
  d = -tonumber(cur)
end
redis.call('HINCRBY', KEYS[1], ARGV[1], d)
return 1
