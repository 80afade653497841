-- Extend under-attack mode; never shorten what another process decided.
-- KEYS: meta   ARGV: until
local current = tonumber(redis.call('HGET', KEYS[1], 'attack_until') or '0')
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'attack_until', ARGV[1])
end
return 1
