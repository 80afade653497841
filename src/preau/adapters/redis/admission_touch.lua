-- Record the passes and tickets a process saw since its last flush.
-- KEYS: passes, alive0, alive1, alive2, alive3, stats, unused, unpolled0, unpolled1,
--       unpolled2, unpolled3, unclaimed, meta
-- ARGV: now, pass count, pass ids…, ticket count, (lane, number) pairs…, stat count,
--       (name, amount) pairs…
local now = ARGV[1]
local index = 2
local claimed = {}
local passes = tonumber(ARGV[index])
index = index + 1
for _ = 1, passes do
  -- A pass seen is used from now on: it holds its slot for the full idle timeout.
  if redis.call('ZREM', KEYS[12], ARGV[index]) == 1 then
    claimed[#claimed + 1] = string.match(ARGV[index], '^(%d)%.')
  end
  redis.call('ZREM', KEYS[7], ARGV[index])
  redis.call('ZADD', KEYS[1], now, ARGV[index])
  index = index + 1
end
local tickets = tonumber(ARGV[index])
index = index + 1
for _ = 1, tickets do
  local lane = tonumber(ARGV[index])
  local number = ARGV[index + 1]
  if redis.call('ZREM', KEYS[12], lane .. '.' .. number) == 1 then
    -- Admitted on credit and come for its pass: now it holds a slot as any.
    redis.call('ZADD', KEYS[7], now, lane .. '.' .. number)
    claimed[#claimed + 1] = tostring(lane)
  elseif redis.call('ZREM', KEYS[8 + lane], number) == 1 then
    -- Its first poll: the ticket is alive from now on.
    redis.call('ZADD', KEYS[2 + lane], now, number)
  else
    -- XX: a ticket already admitted or forgotten must not come back to life.
    redis.call('ZADD', KEYS[2 + lane], 'XX', now, number)
  end
  index = index + 2
end
if #claimed > 0 then
  -- Each claim pays its admission from the rate's budget (it may go below 0: later rounds
  -- admit fewer) and counts as admitted; the version moves, so a round planned before
  -- this cannot overwrite it.
  local meta = KEYS[13]
  local tokens = tonumber(redis.call('HGET', meta, 'tokens') or '0')
  redis.call('HSET', meta, 'tokens', string.format('%.17g', tokens - #claimed))
  for _, lane in ipairs(claimed) do
    redis.call('HINCRBY', meta, 'a' .. lane, 1)
  end
  redis.call('HINCRBY', meta, 'version', 1)
end
local stats = tonumber(ARGV[index])
index = index + 1
for _ = 1, stats do
  redis.call('HINCRBY', KEYS[6], ARGV[index], ARGV[index + 1])
  index = index + 2
end
return 1
