-- Apply one admission plan if the counters have not moved since it was made.
-- KEYS: meta, unused, alive0, alive1, alive2, alive3, unpolled0, unpolled1, unpolled2,
--       unpolled3, unclaimed
-- ARGV: version, now, tokens, rate, rate_at, credit0, credit1, credit2, credit3,
--       seal (0|1), seal_opening_at, seal_seed, grant0, grant1, grant2, grant3,
--       release_start, room, credit_before, young, then for each lane: candidate count,
--       then position, number pairs
-- Within ``room``, a ticket never polled that joined before credit_before is admitted on
-- credit (unclaimed, scored by when it joined): it pays its admission only if it comes
-- for its pass (admission_touch.lua). A first-time or deferred ticket never polled that
-- joined since (young) is admitted only within ``young`` (-1: no limit); past it, the
-- lane's walk stops there (young_to_keep_going and young_limited in domain/admission.py).
local meta = KEYS[1]
local version = tonumber(redis.call('HGET', meta, 'version') or '0')
if version ~= tonumber(ARGV[1]) then
  return false
end
local now = ARGV[2]
if ARGV[10] == '1' then
  for lane = 0, 3 do
    local previous_last = redis.call('HGET', meta, 'pl' .. lane) or '0'
    local issued = redis.call('HGET', meta, 'i' .. lane) or '0'
    redis.call('HSET', meta, 'pf' .. lane, previous_last, 'pl' .. lane, issued)
  end
  redis.call('HSET', meta, 'seed', ARGV[12], 'sealed_for', ARGV[11])
end
local granted = {0, 0, 0, 0}
local walked = {0, 0, 0, 0}
local before = {0, 0, 0, 0}
local total = 0
local admitted = {}
local room = tonumber(ARGV[18])
local credit_before = tonumber(ARGV[19])
local young = tonumber(ARGV[20])
local young_granted = 0
local index = 21
for lane = 0, 3 do
  local wanted = tonumber(ARGV[13 + lane])
  local count = tonumber(ARGV[index])
  index = index + 1
  local serving = nil
  before[lane + 1] = tonumber(redis.call('HGET', meta, 's' .. lane) or '0')
  local stopped = false
  for _ = 1, count do
    local position = ARGV[index]
    local number = ARGV[index + 1]
    index = index + 2
    if granted[lane + 1] < wanted and not stopped then
      local joined = redis.call('ZSCORE', KEYS[7 + lane], number)
      local is_young = joined and young >= 0 and lane >= 2
        and tonumber(joined) >= credit_before
      if joined and room > 0 and tonumber(joined) < credit_before then
        redis.call('ZREM', KEYS[7 + lane], number)
        redis.call('ZADD', KEYS[11], joined, lane .. '.' .. number)
        room = room - 1
      elseif is_young and young_granted >= young then
        stopped = true  -- a newcomer not polled yet: the lane waits for its poll
      elseif redis.call('ZREM', KEYS[3 + lane], number) == 1
        or redis.call('ZREM', KEYS[7 + lane], number) == 1 then
        admitted[#admitted + 1] = lane .. '.' .. number
        granted[lane + 1] = granted[lane + 1] + 1
        if is_young then
          young_granted = young_granted + 1
        end
      end
      if not stopped then
        serving = position
      end
    end
  end
  if serving then
    redis.call('HSET', meta, 's' .. lane, serving)
    walked[lane + 1] = tonumber(serving) - before[lane + 1]
  end
  if granted[lane + 1] > 0 then
    redis.call('HINCRBY', meta, 'a' .. lane, granted[lane + 1])
    total = total + granted[lane + 1]
  end
end
local pace = tonumber(ARGV[4])
-- Each admission holds a slot, unused until its pass comes back (admission_touch.lua).
for _, identifier in ipairs(admitted) do
  redis.call('ZADD', KEYS[2], now, identifier)
end
-- Spread this round's admissions over the time the rate needs to earn them
-- (release_spacing and paced_until in domain/admission.py).
for lane = 0, 3 do
  if walked[lane + 1] > 0 then
    local spacing = 0
    if total > 0 and pace > 0 then
      spacing = total / pace / walked[lane + 1]
    end
    redis.call('HSET', meta, 'rf' .. lane, before[lane + 1], 'rt' .. lane, ARGV[17],
      'rd' .. lane, string.format('%.17g', spacing))
  end
end
if total > 0 and pace > 0 then
  local start = tonumber(ARGV[17])
  redis.call('HSET', meta, 'paced_until', string.format('%.17g', start + total / pace))
end
redis.call('HSET', meta,
  'tokens', tostring(tonumber(ARGV[3]) - total), 'tokens_at', now,
  'rate', ARGV[4], 'rate_at', ARGV[5],
  'c0', ARGV[6], 'c1', ARGV[7], 'c2', ARGV[8], 'c3', ARGV[9])
redis.call('HINCRBY', meta, 'version', 1)
return granted
