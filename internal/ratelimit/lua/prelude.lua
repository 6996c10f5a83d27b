-- Shared by the rate scripts. A rate key holds its theoretical arrival time as
-- "us:frac": Unix microseconds plus frac/limit of one. Go bounds every input
-- so that each sum here stays below 2^53, where Lua's doubles are exact.

-- clock is the server's time in microseconds, so that replicas whose own
-- clocks disagree still agree. ARGV[1] pins it in tests; it is '' otherwise.
local function clock()
  local pinned = tonumber(ARGV[1])
  if pinned then
    return pinned
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- ahead returns how far key's arrival time lies past now: 0, 0 when the
-- bucket is full again (or the key is gone, which means the same).
local function ahead(key, now, limit)
  local v = redis.call('GET', key)
  if not v then
    return 0, 0
  end
  local us, fr = string.match(v, '^(%-?%d+):(%d+)$')
  if not us then
    return 0, 0
  end
  us = tonumber(us) - now
  if us < 0 then
    return 0, 0
  end
  return us, math.min(tonumber(fr), limit - 1)
end

-- store keeps an arrival time us:fr past now, until the bucket is full again.
local function store(key, now, us, fr)
  if us > 0 or fr > 0 then
    redis.call('SET', key, string.format('%.0f:%.0f', now + us, fr), 'PX', math.floor(us / 1000) + 1)
  else
    redis.call('DEL', key)
  end
end
