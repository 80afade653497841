-- Forget idle passes and abandoned tickets, then read every counter in one go.
-- KEYS: meta, passes, alive0, alive1, alive2, stats, settings
-- ARGV: pass_cutoff, ticket_cutoff
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
local waiting = {}
for lane = 0, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[3 + lane], '-inf', '(' .. ARGV[2])
  waiting[lane + 1] = redis.call('ZCARD', KEYS[3 + lane])
end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('ZCARD', KEYS[2]),
  waiting,
  redis.call('HGETALL', KEYS[6]),
  redis.call('GET', KEYS[7]),
}
