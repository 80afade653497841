-- Take a ticket in a lane, or give a device back the ticket it already holds.
-- KEYS: meta, unpolled0, unpolled1, unpolled2, unpolled3, stats, device (or meta again when
--       there is none), network (or meta again), alive2, alive3, unused, unclaimed
-- ARGV: lane, now, ticket_idle_ms, has_device, places (0: no fairness), line_minimum
-- Fairness between networks (fair_lane in domain/admission.py): a first-time ticket whose
-- network holds ``places`` first-time places (tickets not reached yet, or let in and their
-- pass not back yet), while the first-time and deferred lanes hold at least line_minimum
-- people, joins the deferred lane (3). The network's set keeps only the numbers that hold.
local lane = tonumber(ARGV[1])
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[7])
  if existing then
    local held_lane, held_number = string.match(existing, '^(%d+):(%d+)$')
    if held_lane then
      return {tonumber(held_lane), tonumber(held_number)}
    end
  end
end
local places = tonumber(ARGV[5])
local counted = lane == 2 and places > 0
if counted then
  local serving = tonumber(redis.call('HGET', KEYS[1], 's2') or '0')
  local held = 0
  -- Oldest first, trimming those that no longer hold, and no further than the places: a
  -- network's set stays short, and a join costs a few calls.
  for _, number in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do
    if held >= places then
      break
    end
    if tonumber(number) > serving or redis.call('ZSCORE', KEYS[11], '2.' .. number)
      or redis.call('ZSCORE', KEYS[12], '2.' .. number) then
      held = held + 1
    else
      redis.call('ZREM', KEYS[8], number)
    end
  end
  if held >= places then
    local line = redis.call('ZCARD', KEYS[4]) + redis.call('ZCARD', KEYS[5])
      + redis.call('ZCARD', KEYS[9]) + redis.call('ZCARD', KEYS[10])
    if line >= tonumber(ARGV[6]) then
      lane = 3
    end
  end
end
local number = redis.call('HINCRBY', KEYS[1], 'i' .. lane, 1)
-- A new ticket is unpolled until its holder asks about it again (admission_touch.lua).
redis.call('ZADD', KEYS[2 + lane], ARGV[2], number)
if counted and lane == 2 then
  redis.call('ZADD', KEYS[8], number, number)
  redis.call('PEXPIRE', KEYS[8], ARGV[3])
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[7], lane .. ':' .. number, 'PX', ARGV[3])
end
redis.call('HINCRBY', KEYS[6], 'arrivals', 1)
return {lane, number}
