-- Release: drop ARGV[1] from every key's holders.
for _, key in ipairs(KEYS) do
  redis.call('ZREM', key, ARGV[1])
end
return 0
