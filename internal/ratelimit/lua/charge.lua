-- Charge: add (or refund) each key's cost without checking.
-- ARGV[1] pinned clock or ''; ARGV[2] the most a key may run ahead (us);
-- then four values per key: limit, sign (1 or -1), cost (us, frac).
local now = clock()
local cap = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local j = 2 + (i - 1) * 4
  local limit, sign = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
  local cost_us, cost_fr = tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4])
  local us, fr = ahead(key, now, limit)
  if sign < 0 then
    -- A refund never makes the bucket fuller than full.
    if us < cost_us or (us == cost_us and fr < cost_fr) then
      us, fr = 0, 0
    else
      us, fr = us - cost_us, fr - cost_fr
      if fr < 0 then
        us, fr = us - 1, fr + limit
      end
    end
  else
    us, fr = us + cost_us, fr + cost_fr
    if fr >= limit then
      us, fr = us + 1, fr - limit
    end
    if us >= cap then
      us, fr = cap, 0
    end
  end
  store(key, now, us, fr)
end
return 0
