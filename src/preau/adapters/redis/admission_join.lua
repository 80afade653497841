-- Take a ticket in a lane, or give a device back the ticket it already holds.
-- KEYS: meta, unpolled0, unpolled1, unpolled2, stats, device (or meta again when there is none)
-- ARGV: lane, now, ticket_idle_ms, has_device
local lane = tonumber(ARGV[1])
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[6])
  if existing then
    local held_lane, held_number = string.match(existing, '^(%d+):(%d+)$')
    if held_lane then
      return {tonumber(held_lane), tonumber(held_number)}
    end
  end
end
local number = redis.call('HINCRBY', KEYS[1], 'i' .. lane, 1)
-- A new ticket is unpolled until its holder asks about it again (admission_touch.lua).
redis.call('ZADD', KEYS[2 + lane], ARGV[2], number)
if ARGV[4] == '1' then
  redis.call('SET', KEYS[6], lane .. ':' .. number, 'PX', ARGV[3])
end
redis.call('HINCRBY', KEYS[5], 'arrivals', 1)
return {lane, number}
