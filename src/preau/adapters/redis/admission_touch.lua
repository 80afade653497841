-- Record the passes and tickets a process saw since its last flush.
-- KEYS: passes, alive0, alive1, alive2, stats
-- ARGV: now, pass count, pass ids…, ticket count, (lane, number) pairs…, stat count,
--       (name, amount) pairs…
local now = ARGV[1]
local index = 2
local passes = tonumber(ARGV[index])
index = index + 1
for _ = 1, passes do
  redis.call('ZADD', KEYS[1], now, ARGV[index])
  index = index + 1
end
local tickets = tonumber(ARGV[index])
index = index + 1
for _ = 1, tickets do
  -- XX: a ticket already admitted or forgotten must not come back to life.
  redis.call('ZADD', KEYS[2 + tonumber(ARGV[index])], 'XX', now, ARGV[index + 1])
  index = index + 2
end
local stats = tonumber(ARGV[index])
index = index + 1
for _ = 1, stats do
  redis.call('HINCRBY', KEYS[5], ARGV[index], ARGV[index + 1])
  index = index + 2
end
return 1
