-- Gives a concurrency slot back. KEYS[1]: the key's slots, ARGV[1]: the lease id. Returns 1 if
-- the slot was held (0: it had expired already).
return redis.call('ZREM', KEYS[1], ARGV[1])
