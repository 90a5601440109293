-- A key's counters in one window (for tests and operators). KEYS: state hash, lease set.
-- ARGV: window. Returns {window start, spent, reserved}.
prepare(KEYS[1], KEYS[2], ARGV[1])
return {
  tonumber(redis.call('HGET', KEYS[1], 'start') or '0'),
  tonumber(redis.call('HGET', KEYS[1], 'spent') or '0'),
  tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0'),
}
