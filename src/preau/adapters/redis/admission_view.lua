-- Forget idle passes and abandoned tickets, then read every counter in one go.
-- KEYS: meta, passes, alive0, alive1, alive2, alive3, stats, settings, unused,
--       unpolled0, unpolled1, unpolled2, unpolled3, unclaimed
-- ARGV: pass_cutoff, ticket_cutoff, unused_cutoff, unpolled_cutoff, settled_before,
--       unpolled_settled_before
-- Passes are used (seen again since they were issued) or unused; tickets are alive (polled
-- since they were taken) or unpolled. Unused and unpolled ones have their own, shorter
-- cutoffs; unused passes out since before settled_before, and tickets never polled (or
-- admitted on credit, never claimed) taken before unpolled_settled_before, count as not
-- coming back.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', '(' .. ARGV[3])
-- Admitted on credit, never claimed: gone with the ticket's own short life.
redis.call('ZREMRANGEBYSCORE', KEYS[14], '-inf', '(' .. ARGV[4])
local used = redis.call('ZCARD', KEYS[2])
local unused = redis.call('ZCARD', KEYS[9]) + redis.call('ZCARD', KEYS[14])
local returned = used
local unreturned = redis.call('ZCOUNT', KEYS[9], '-inf', '(' .. ARGV[5])
  + redis.call('ZCOUNT', KEYS[14], '-inf', '(' .. ARGV[6])
local waiting = {}
for lane = 0, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[3 + lane], '-inf', '(' .. ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[10 + lane], '-inf', '(' .. ARGV[4])
  local polled = redis.call('ZCARD', KEYS[3 + lane])
  waiting[lane + 1] = polled + redis.call('ZCARD', KEYS[10 + lane])
  returned = returned + polled
  unreturned = unreturned + redis.call('ZCOUNT', KEYS[10 + lane], '-inf', '(' .. ARGV[6])
end
return {
  redis.call('HGETALL', KEYS[1]),
  used + unused,
  waiting,
  redis.call('HGETALL', KEYS[7]),
  redis.call('GET', KEYS[8]),
  unused,
  returned,
  unreturned,
}
