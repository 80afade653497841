#!/bin/sh
# Start a Sentinel watching the primary named "preau". Its configuration is written once
# per pod: Sentinel rewrites the file itself as it learns about failovers.
set -eu
self="${POD_NAME}.redis-headless"
if [ ! -f /data/sentinel.conf ]; then
  primary=""
  for peer in redis-0 redis-1 redis-2; do
    [ "$peer" = "$POD_NAME" ] && continue
    answer=$(redis-cli -h "${peer}.redis-headless" -p 26379 --raw \
      SENTINEL get-master-addr-by-name preau 2>/dev/null | head -n 1 || true)
    case "$answer" in
      "" | *ERR* | *NOAUTH*) ;;
      *) primary="$answer"; break ;;
    esac
  done
  primary="${primary:-redis-0.redis-headless}"
  # The same id for this pod's Sentinel across restarts: a new id each time would leave
  # the others counting Sentinels that are gone, and a failover needs a majority of them.
  myid=$(printf '%s' "$POD_NAME" | sha1sum | cut -c1-40)
  umask 077
  cat > /data/sentinel.conf <<CONF
port 26379
sentinel myid ${myid}
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${self}
sentinel monitor preau ${primary} 6379 2
sentinel auth-pass preau ${REDISCLI_AUTH}
sentinel sentinel-pass ${REDISCLI_AUTH}
sentinel down-after-milliseconds preau 5000
sentinel failover-timeout preau 60000
sentinel parallel-syncs preau 1
requirepass "${REDISCLI_AUTH}"
CONF
fi
exec redis-sentinel /data/sentinel.conf
