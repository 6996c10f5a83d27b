-- Take: admit only if every key has room, then charge them all.
-- ARGV[1] pinned clock or ''; then five values per key: limit, tolerance
-- (us, frac), cost (us, frac), with cost us -1 for a Cost above Burst.
-- Returns {committed, then per key how far it ran ahead before: us, frac}.
local now = clock()
local out = {1}
local after = {}
for i, key in ipairs(KEYS) do
  local j = 1 + (i - 1) * 5
  local limit = tonumber(ARGV[j + 1])
  local tol_us, tol_fr = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  local cost_us, cost_fr = tonumber(ARGV[j + 4]), tonumber(ARGV[j + 5])
  local us, fr = ahead(key, now, limit)
  out[2 * i], out[2 * i + 1] = us, fr
  if cost_us < 0 then
    out[1] = 0
  else
    us, fr = us + cost_us, fr + cost_fr
    if fr >= limit then
      us, fr = us + 1, fr - limit
    end
    if us > tol_us or (us == tol_us and fr > tol_fr) then
      out[1] = 0
    elseif cost_us > 0 or cost_fr > 0 then
      after[i] = {us, fr}
    end
  end
end
if out[1] == 1 then
  for i, a in pairs(after) do
    store(KEYS[i], now, a[1], a[2])
  end
end
return out
