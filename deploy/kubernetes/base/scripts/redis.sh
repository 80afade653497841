#!/bin/sh
# Start Redis as a replica of the primary the Sentinels name, or as the first primary when
# no Sentinel knows one yet and this is redis-0. Asking the Sentinels first matters: a
# restarted primary comes back empty (nothing is kept on disk) and must not stay primary,
# or its replicas would copy its empty data set. If the Sentinels still name this pod (it
# came back within the 5 s before they noticed), it does start empty as primary: that
# resets counters (the waiting room's, login attempts) and caches, which rebuild; sessions
# are signed tokens and revocations live in PostgreSQL, so no one is logged in or out.
set -eu
self="${POD_NAME}.redis-headless"
primary=""
for peer in redis-0 redis-1 redis-2; do
  answer=$(redis-cli -h "${peer}.redis-headless" -p 26379 --raw \
    SENTINEL get-master-addr-by-name preau 2>/dev/null | head -n 1 || true)
  case "$answer" in
    "" | *ERR* | *NOAUTH*) ;;
    *) primary="$answer"; break ;;
  esac
done
if [ -z "$primary" ] && [ "$POD_NAME" != "redis-0" ]; then
  primary="redis-0.redis-headless"
fi
umask 077
cat > /data/redis.conf <<CONF
port 6379
bind * -::*
dir /data
# Préau's shared state rebuilds itself (gate counters, rate windows, caches, pub/sub);
# replicas and Sentinel give availability, disk persistence would only slow failovers.
save ""
appendonly no
maxmemory ${REDIS_MAXMEMORY}
# The gate's queues and passes must not be evicted silently: refuse writes instead
# (Préau fails open on its rate limits and falls back to per-process shares).
maxmemory-policy noeviction
requirepass "${REDISCLI_AUTH}"
masterauth "${REDISCLI_AUTH}"
replica-announce-ip ${self}
CONF
if [ -n "$primary" ] && [ "$primary" != "$self" ]; then
  echo "replicaof ${primary} 6379" >> /data/redis.conf
fi
exec redis-server /data/redis.conf
