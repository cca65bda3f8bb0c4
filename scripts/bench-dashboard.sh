#!/usr/bin/env bash
# Time to the dashboard's first interactive view (overview drawn, chart included) in headless
# Chromium, against a release `xingyi local` on loopback: N runs (default 7), each in a fresh
# browser, median and range printed. Needs what the browser test needs (Chromium and
# `npm ci --prefix tests/browser`). Not a test: nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-7}"
cargo build --release --locked -q -p cli
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
(cd "$dir" && exec "$OLDPWD/target/release/xingyi" local --hub-port "$port" --yuncheng-port 0 --linfen-port 0 > out.txt 2> err.txt) &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do grep -q 'dashboard (' "$dir/out.txt" 2>/dev/null && break; sleep 0.5; done
token=$(sed -n 's/.*#token=//p' "$dir/out.txt")
sleep 2
times=()
for i in $(seq 1 "$runs"); do
  ms=$(node tests/browser/drive.mjs "http://127.0.0.1:$port" "$token" "$dir/shots" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.timings.firstViewMs+" "+Math.round(r.timings.navigation.domContentLoadedMs))})')
  times+=("$ms")
  echo "run $i: first view ${ms% *} ms (DOMContentLoaded ${ms#* } ms)"
done
printf '%s\n' "${times[@]}" | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END {printf "first view interactive: median %d ms, min %d, max %d over %d runs\n", a[int((NR+1)/2)], a[1], a[NR], NR}'
