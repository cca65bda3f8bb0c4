#!/bin/bash
# An idle hub's memory with 11 registered cities (nodes on a dead port): RSS 8 s after start
# on a fresh data directory, and again after a restart on the same directory.
#   scripts/hub-idle-memory.sh [label] [replica max_connections|-] [VAR=value ...]
# e.g. scripts/hub-idle-memory.sh thp MIMALLOC_ALLOW_THP=0 (environment for the hub).
# Uses target/release/xingyi (cargo build --release --locked -p cli).
set -euo pipefail
label=${1:-hub}; maxc=${2:--}; shift $(( $# > 2 ? 2 : $# ))
bin=${XINGYI:-target/release/xingyi}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
head -c 48 /dev/urandom | base64 > "$d/secret"
port=$((20000 + RANDOM % 10000))
{
  echo "listen = \"127.0.0.1:$port\""
  echo "data_dir = \"$d/data\""
  echo "[auth]"
  echo "secret_file = \"$d/secret\""
  for c in 140100 140200 140300 140400 140500 140600 140700 140800 140900 141000 141100; do
    echo "[[nodes]]"; echo "city = \"$c\""; echo "url = \"http://127.0.0.1:9/graphql\""
    if [ "$maxc" != "-" ]; then echo "[nodes.replica]"; echo "max_connections = $maxc"; fi
  done
} > "$d/hub.toml"
measure() {
  env "$@" XINGYI_LOG=warn "$bin" hub --config "$d/hub.toml" >>"$d/log" 2>&1 &
  local pid=$!
  sleep 8
  awk '/^VmRSS/ {printf "%d", $2 / 1024} /^Threads/ {t = $2} END {}' "/proc/$pid/status"
  echo -n " MiB ($(awk '/^Threads/ {print $2}' "/proc/$pid/status") threads)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
fresh=$(measure "$@")
again=$(measure "$@")
echo "$label: fresh $fresh; restarted $again"
