-- Acquire: one slot on every key for a holder, or none. A key is a sorted set
-- of holders scored by lease deadline (Unix ms); expired ones go first.
-- ARGV[1] pinned clock or ''; ARGV[2] holder; ARGV[3] lease ms;
-- ARGV[3 + i] the limit of KEYS[i].
-- Returns {acquired, then per key: holders (after, when acquired), held before}.
local now_ms = math.floor(clock() / 1000)
local holder, lease = ARGV[2], tonumber(ARGV[3])
local out = {1}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms)
  local n = redis.call('ZCARD', key)
  local held = redis.call('ZSCORE', key, holder) and 1 or 0
  out[2 * i], out[2 * i + 1] = n, held
  if held == 0 and n >= tonumber(ARGV[3 + i]) then
    out[1] = 0
  end
end
if out[1] == 1 then
  for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now_ms + lease, holder)
    if out[2 * i + 1] == 0 then
      out[2 * i] = out[2 * i] + 1
    end
    -- Outlive the longest lease, so a crashed holder's key still goes.
    if redis.call('PTTL', key) < lease then
      redis.call('PEXPIRE', key, lease)
    end
  end
end
return out
