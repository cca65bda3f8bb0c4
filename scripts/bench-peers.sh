#!/usr/bin/env bash
# Peer benchmark: the xingyi hub, Apollo Gateway, Hive Gateway and (when a `hive_router` binary
# is on PATH) Hive Router, each in front of the same 运城 (140800) city node, measured side by
# side in one run with one load generator (Debian's `wrk`), and printed as a Markdown table.
#
# Usage: scripts/bench-peers.sh [--duration SECONDS] [--smoke] [--dedup]
#   --duration S  seconds of each measured load (default 10)
#   --smoke       2-second loads: a quick check that everything starts and answers alike
#   --dedup       keep the gateways' sharing of identical in-flight subgraph calls (see below)
# Environment: XINGYI_BIN (default target/release/xingyi; build it first, e.g. `cargo build
# --release -p cli`: this script builds nothing but `npm ci` in tools/bench-peers).
# Needs: wrk (apt-get install wrk), node ≥ 20 with npm, curl.
#
# What runs: one `xingyi node --city 140800` (seeded on first start, in a temporary directory,
# rate limits off through XINGYI_GRAPHQL__RATE_LIMIT__*=0 as the Rust federation bench turns
# them off), a `xingyi hub` over it (rate limits off in its TOML), and the peers over a
# supergraph that tools/bench-peers/compose.mjs composes with @apollo/composition from the
# node's own SDL (`_service { sdl }`, falling back to schema/city.graphql), the subgraph URL
# being the node's. Everything listens on free loopback ports and is stopped on exit.
#
# Auth: the node takes a province_admin JWT (`xingyi token`, signed with the node's HS256
# secret, which the hub shares). Every gateway forwards the client's Authorization header to
# the node: the xingyi hub does so itself; Apollo Gateway through a RemoteGraphQLDataSource
# whose willSendRequest copies it from the request context (tools/bench-peers/
# apollo-gateway.mjs); Hive Gateway through propagateHeaders.fromClientToSubgraphs
# (tools/bench-peers/hive-gateway.config.mjs); Hive Router through a `headers.all.request`
# `propagate: { named: Authorization }` rule.
#
# Like with like: the peers front the node directly, so they get the node's own query shape
# (`{ units(first: 20) { … } }`) and send it on to the node as it is (a one-fetch plan). The
# xingyi hub serves the province schema, where a city's subgraph hangs under
# `city(code: "140800")`, so it gets `{ city(code: "140800") { units(first: 20) { … } } }` and
# delegates the same selection to the node. Either way one client request is one call to the
# node asking for the same selection, and the answers are checked equal: the hub's
# `data.city` against the node's own `data`, a peer's `data` against the node's `data` (JSON,
# key order ignored), before any load. The xingyi hub and Hive Gateway (and Hive Router) share
# one subgraph call among identical calls in flight by default, Apollo Gateway does not; with
# wrk sending one identical request on 50 connections that would measure the sharing, not the
# gateway, so it is turned off in all of them (hub `node_dedup = false`, Hive Gateway
# `deduplicateInflightRequests: false`, Hive Router `dedupe_enabled: false`) unless --dedup.
# Everything else stays at each product's defaults (e.g. the hub's `node_max_in_flight` = 16
# calls to a node at once, NODE_ENV=production for the Node.js gateways, one process each).
# The first row is the node itself, asked directly: the floor the gateways add to.
#
# Measured per gateway and query, after a warm-up load that is not counted: p50 and p99 latency
# at 1 connection, then requests/s and p95 at 50 connections (wrk -t1, one connection
# each request in flight, keep-alive), the gateway's CPU time per request over both loads
# (utime + stime of its process and its children, from /proc/<pid>/stat, before and after),
# the node's CPU time per request over the same window (what the gateway's call costs the
# node), and the gateway's peak RSS (VmHWM in /proc/<pid>/status, so for the second query it is
# the peak over both). Host CPU steal over the loads (from /proc/stat) is printed below the
# table: on a shared VM, a run with much steal is not worth comparing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/tools/bench-peers

DURATION=10
DEDUP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?--duration needs seconds}; shift 2 ;;
    --duration=*) DURATION=${1#--duration=}; shift ;;
    --smoke) DURATION=2; shift ;;
    --dedup) DEDUP=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$DURATION" in ''|*[!0-9]*|0) echo "--duration takes whole seconds ≥ 1" >&2; exit 2 ;; esac
WARMUP=$(( DURATION >= 10 ? 3 : 1 ))

XINGYI=${XINGYI_BIN:-target/release/xingyi}
[ -x "$XINGYI" ] || { echo "no xingyi binary at $XINGYI (set XINGYI_BIN or build it)" >&2; exit 1; }
XINGYI=$(cd "$(dirname "$XINGYI")" && pwd)/$(basename "$XINGYI")
# xingyi reads every XINGYI_* variable as configuration and refuses unknown keys (XINGYI_BIN
# itself would stop the node), and a caller's XINGYI_DATABASE__URL or the like must not change
# what is measured: the servers below get only the variables set here.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^XINGYI_' || true)
for tool in wrk node npm curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (wrk: apt-get install wrk)" >&2; exit 1; }
done

# The pinned peers: installed from package-lock.json, again only when the lock file changed.
if [ ! -f "$TOOLS/node_modules/.package-lock.json" ] ||
  [ "$TOOLS/package-lock.json" -nt "$TOOLS/node_modules/.package-lock.json" ]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
pkg_version() { node -p "require('$TOOLS/node_modules/$1/package.json').version"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")
PIDS=()
cleanup() {
  local pid live=()
  # Only this script's own children still running (an id that exited may have been reused).
  for pid in "${PIDS[@]}"; do
    [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$$" ] && live+=("$pid")
  done
  for pid in "${live[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${live[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-peers: $*" >&2; }
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# Waits until `check` succeeds, while process `pid` lives; shows its log if it does not.
wait_for() {
  local name=$1 pid=$2 logfile=$3 check=$4
  for _ in $(seq 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited while starting; its log:"; tail -n 30 "$logfile" >&2; return 1
    fi
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$name did not answer within 120 s; its log:"; tail -n 30 "$logfile" >&2; return 1
}
graphql_up() { # url: answers `{ __typename }` with the token
  curl -fsS -m 5 -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
    --data '{"query":"{ __typename }"}' "$1" | grep -q '"data"'
}

# --- the 运城 node -------------------------------------------------------------------------
NODE_PORT=$(free_port)
NODE_URL=http://127.0.0.1:$NODE_PORT/graphql
mkdir -p "$WORK/node" "$WORK/hub"
XINGYI_LOG=warn \
  XINGYI_GRAPHQL__RATE_LIMIT__PER_PRINCIPAL_PER_S=0 \
  XINGYI_GRAPHQL__RATE_LIMIT__PER_ADDRESS_PER_S=0 \
  "$XINGYI" node --city 140800 --listen "127.0.0.1:$NODE_PORT" --data-dir "$WORK/node" \
  >"$WORK/node.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")
log "starting the 运城 node on port $NODE_PORT (seeding on first start)"
wait_for "the node" "$NODE_PID" "$WORK/node.log" "curl -fsS -m 5 http://127.0.0.1:$NODE_PORT/health"
TOKEN=$("$XINGYI" token --role province_admin --sub bench-peers --hours 24 \
  --secret-file "$WORK/node/jwt-secret")

# --- the supergraph, composed from the node's SDL --------------------------------------------
SDL_FROM="the node's _service { sdl }"
if ! curl -fsS -m 10 -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  --data '{"query":"{ _service { sdl } }"}' "$NODE_URL" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);
    if(!b.data||!b.data._service||!b.data._service.sdl)process.exit(1);
    process.stdout.write(b.data._service.sdl)})' >"$WORK/city.graphql"; then
  SDL_FROM="schema/city.graphql (the node did not answer _service { sdl })"
  cp schema/city.graphql "$WORK/city.graphql"
fi
(cd "$TOOLS" && node compose.mjs "$WORK/city.graphql" "$NODE_URL" "$WORK/supergraph.graphql")

# --- the gateways ------------------------------------------------------------------------------
# Each: NAMES[i], URLS[i], GPIDS[i] (the process measured), SHAPES[i] (node | hub).
NAMES=() URLS=() GPIDS=() SHAPES=()
add_gateway() { NAMES+=("$1"); URLS+=("$2"); GPIDS+=("$3"); SHAPES+=("$4"); }
add_gateway "运城 node, direct (no gateway)" "$NODE_URL" "$NODE_PID" node

HUB_PORT=$(free_port)
NODE_DEDUP=$([ "$DEDUP" = 1 ] && echo true || echo false)
cat >"$WORK/hub.toml" <<EOF
listen = "127.0.0.1:$HUB_PORT"
data_dir = "$WORK/hub"
node_timeout_ms = 10000
node_dedup = $NODE_DEDUP

[auth]
secret_file = "$WORK/node/jwt-secret"

[graphql.rate_limit]
per_principal_per_s = 0
per_address_per_s = 0

[[nodes]]
city = "140800"
url = "$NODE_URL"
EOF
XINGYI_LOG=warn "$XINGYI" hub --config "$WORK/hub.toml" >"$WORK/hub.log" 2>&1 &
HUB_PID=$!
PIDS+=("$HUB_PID")
wait_for "the xingyi hub" "$HUB_PID" "$WORK/hub.log" "graphql_up http://127.0.0.1:$HUB_PORT/graphql"
add_gateway "xingyi hub $("$XINGYI" --version | awk '{print $NF}')" \
  "http://127.0.0.1:$HUB_PORT/graphql" "$HUB_PID" hub

APOLLO_PORT=$(free_port)
NODE_ENV=production node "$TOOLS/apollo-gateway.mjs" "$WORK/supergraph.graphql" "$APOLLO_PORT" \
  >"$WORK/apollo.log" 2>&1 &
APOLLO_PID=$!
PIDS+=("$APOLLO_PID")
wait_for "Apollo Gateway" "$APOLLO_PID" "$WORK/apollo.log" \
  "graphql_up http://127.0.0.1:$APOLLO_PORT/graphql"
add_gateway "Apollo Gateway $(pkg_version @apollo/gateway) (Apollo Server $(pkg_version @apollo/server))" \
  "http://127.0.0.1:$APOLLO_PORT/graphql" "$APOLLO_PID" node

HIVE_PORT=$(free_port)
NODE_ENV=production BENCH_DEDUP=$DEDUP node "$TOOLS/node_modules/@graphql-hive/gateway/dist/bin.js" \
  supergraph "$WORK/supergraph.graphql" --host 127.0.0.1 --port "$HIVE_PORT" --fork 1 \
  --config-path "$TOOLS/hive-gateway.config.mjs" >"$WORK/hive.log" 2>&1 &
HIVE_PID=$!
PIDS+=("$HIVE_PID")
wait_for "Hive Gateway" "$HIVE_PID" "$WORK/hive.log" "graphql_up http://127.0.0.1:$HIVE_PORT/graphql"
add_gateway "Hive Gateway $(pkg_version @graphql-hive/gateway)" \
  "http://127.0.0.1:$HIVE_PORT/graphql" "$HIVE_PID" node

ROUTER_NOTE=""
if command -v hive_router >/dev/null; then
  ROUTER_PORT=$(free_port)
  # The traffic_shaping layout changed between Hive Router releases (dedupe_enabled at the top
  # of it, later under `all`); its config refuses unknown keys, so try the newer layout, then
  # the older one, then none (dedup left at its default, said below the table).
  router_config() {
    cat <<EOF
supergraph:
  source: file
  path: $WORK/supergraph.graphql
http:
  host: 127.0.0.1
  port: $ROUTER_PORT
headers:
  all:
    request:
      - propagate:
          named: Authorization
EOF
    if [ "$DEDUP" = 0 ]; then
      case "$1" in
        all) printf 'traffic_shaping:\n  all:\n    dedupe_enabled: false\n' ;;
        top) printf 'traffic_shaping:\n  dedupe_enabled: false\n' ;;
      esac
    fi
  }
  ROUTER_PID=""
  for layout in all top none; do
    router_config "$layout" >"$WORK/router.config.yaml"
    (cd "$WORK" && exec env ROUTER_CONFIG_FILE_PATH="$WORK/router.config.yaml" hive_router) \
      >"$WORK/router.log" 2>&1 &
    ROUTER_PID=$!
    PIDS+=("$ROUTER_PID")
    if wait_for "Hive Router" "$ROUTER_PID" "$WORK/router.log" \
      "graphql_up http://127.0.0.1:$ROUTER_PORT/graphql" 2>/dev/null; then
      break
    fi
    kill -TERM "$ROUTER_PID" 2>/dev/null || true
    wait "$ROUTER_PID" 2>/dev/null || true
    unset 'PIDS[${#PIDS[@]}-1]' # reaped: its id may be reused, so never signal it again
    ROUTER_PID=""
  done
  if [ -n "$ROUTER_PID" ]; then
    [ "$layout" = none ] && [ "$DEDUP" = 0 ] &&
      ROUTER_NOTE="Hive Router refused both traffic_shaping layouts: its subgraph dedup stayed at its default."
    # `hive_router` has no --version (it would start a router): its first log line says it.
    ROUTER_VERSION=$(grep -o '"version":"[^"]*"' "$WORK/router.log" | head -n 1 | cut -d'"' -f4)
    add_gateway "Hive Router ${ROUTER_VERSION:-(version unknown)}" \
      "http://127.0.0.1:$ROUTER_PORT/graphql" "$ROUTER_PID" node
  else
    log "Hive Router did not start; its last log:"; tail -n 30 "$WORK/router.log" >&2
    ROUTER_NOTE="Hive Router: \`hive_router\` is on PATH but did not start (see above): skipped."
  fi
else
  ROUTER_NOTE="Hive Router: skipped (no \`hive_router\` binary on PATH)."
  log "$ROUTER_NOTE"
fi

# --- measuring -------------------------------------------------------------------------------
# CPU ticks (utime + stime) of a process and its live descendants.
cpu_ticks() {
  local pid=$1 total=0 t child
  t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
  total=$(( total + ${t:-0} ))
  for child in $(pgrep -P "$pid" 2>/dev/null); do
    total=$(( total + $(cpu_ticks "$child") ))
  done
  echo "$total"
}
# Peak RSS (VmHWM, KiB) of a process and its live descendants, added up.
peak_kib() {
  local pid=$1 total=0 k child
  k=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || k=0
  total=$(( total + ${k:-0} ))
  for child in $(pgrep -P "$pid" 2>/dev/null); do
    total=$(( total + $(peak_kib "$child") ))
  done
  echo "$total"
}
steal_and_total() { awk '/^cpu / {t=0; for (i=2;i<=9;i++) t+=$i; print $9, t}' /proc/stat; }
HZ=$(getconf CLK_TCK)

# Runs wrk; prints its BENCH line's fields as shell assignments (requests=… p50_us=… …).
run_wrk() {
  local url=$1 conns=$2 secs=$3 body=$4 out
  out=$(BENCH_BODY_FILE=$body BENCH_TOKEN=$TOKEN \
    wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s -s "$TOOLS/post.lua" "$url" 2>&1) ||
    { log "wrk failed: $out"; return 1; }
  echo "$out" | grep '^BENCH ' | sed 's/^BENCH //' ||
    { log "no result from wrk: $out"; return 1; }
}
ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }

body_file() { # name query → a file holding {"query": …}
  node -e 'process.stdout.write(JSON.stringify({query: process.argv[1]}))' "$2" >"$WORK/body-$1.json"
  echo "$WORK/body-$1.json"
}

YC=140800
ONE_CITY='units(first: 20) { totalCount nodes { id nameZh kind institution { nameZh } planItems(first: 5) { nodes { category text } } } }'
CHEAP='programmes { nodes { id nameZh } }'
QUERY_NAMES=("one-city" "cheap (programmes)")
QUERY_SELS=("$ONE_CITY" "$CHEAP")

ROWS=()
FAILED=0
read -r STEAL0 TOTAL0 < <(steal_and_total)
for qi in "${!QUERY_SELS[@]}"; do
  qname=${QUERY_NAMES[$qi]}
  node_q="{ ${QUERY_SELS[$qi]} }"
  hub_q="{ city(code: \"$YC\") { ${QUERY_SELS[$qi]} } }"
  node_body=$(body_file "node-$qi" "$node_q")
  hub_body=$(body_file "hub-$qi" "$hub_q")
  if ! (cd "$TOOLS" && node answer.mjs "$NODE_URL" "$TOKEN" "$node_q") >"$WORK/ref-$qi.json"; then
    log "the node itself does not answer the $qname query"; exit 1
  fi
  for gi in "${!NAMES[@]}"; do
    name=${NAMES[$gi]} url=${URLS[$gi]} pid=${GPIDS[$gi]}
    if [ "${SHAPES[$gi]}" = hub ]; then
      q=$hub_q body=$hub_body unwrap=(--unwrap city)
    else
      q=$node_q body=$node_body unwrap=()
    fi
    log "$name, $qname query"
    if ! (cd "$TOOLS" && node answer.mjs "$url" "$TOKEN" "$q" "${unwrap[@]}") >"$WORK/got-$qi-$gi.json"; then
      ROWS+=("| $name | $qname | – | – | – | – | – | – | – | **no: error** |")
      FAILED=1
      continue
    fi
    if cmp -s "$WORK/ref-$qi.json" "$WORK/got-$qi-$gi.json"; then
      equal=yes
    else
      equal="**NO**"
      FAILED=1
      log "$name answers the $qname query differently from the node:"
      diff <(tr ',' '\n' <"$WORK/ref-$qi.json") <(tr ',' '\n' <"$WORK/got-$qi-$gi.json") | head -n 20 >&2 || true
    fi
    run_wrk "$url" 10 "$WARMUP" "$body" >/dev/null || exit 1
    c0=$(cpu_ticks "$pid") n0=$(cpu_ticks "$NODE_PID")
    one=$(run_wrk "$url" 1 "$DURATION" "$body") || exit 1
    many=$(run_wrk "$url" 50 "$DURATION" "$body") || exit 1
    eval "$(echo "$one" | sed 's/\([a-z_0-9]*\)=/one_\1=/g')"
    eval "$(echo "$many" | sed 's/\([a-z_0-9]*\)=/many_\1=/g')"
    c1=$(cpu_ticks "$pid") n1=$(cpu_ticks "$NODE_PID")
    reqs=$(( one_requests + many_requests ))
    failures=$(( one_bad + many_bad + one_socket_errors + many_socket_errors ))
    if [ "$failures" -gt 0 ]; then
      equal="$equal, **$failures failed under load**"
      FAILED=1
    fi
    rps=$(awk -v n="$many_requests" -v us="$many_duration_us" 'BEGIN {printf "%.0f", n / (us / 1e6)}')
    cpu=$(awk -v t=$(( c1 - c0 )) -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.3f", t * 1000 / hz / n}')
    ncpu=$(awk -v t=$(( n1 - n0 )) -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.3f", t * 1000 / hz / n}')
    rss=$(awk -v k="$(peak_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}')
    ROWS+=("| $name | $qname | $(ms "$one_p50_us") | $(ms "$one_p99_us") | $rps | $(ms "$many_p95_us") | $cpu | $rss | $ncpu | $equal |")
  done
done
read -r STEAL1 TOTAL1 < <(steal_and_total)

# --- the report ------------------------------------------------------------------------------
echo "# Peer gateways in front of the 运城 node (scripts/bench-peers.sh)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); xingyi: \`$(basename "$XINGYI")\` from $(dirname "$XINGYI"); node $(node --version); $(wrk --version 2>&1 | head -n 1 | awk '{print $1, $2}')."
echo "Loads of ${DURATION} s each after a ${WARMUP} s warm-up at 10 connections; wrk -t1; supergraph composed from $SDL_FROM; identical in-flight subgraph calls shared: $([ "$DEDUP" = 1 ] && echo "yes (--dedup; each product's default)" || echo "no (turned off in every gateway)")."
echo
echo "| gateway | query | p50 1c ms | p99 1c ms | RPS 50c | p95 50c ms | CPU ms/req | peak RSS MiB | node CPU ms/req | answer equal |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
awk -v s=$(( STEAL1 - STEAL0 )) -v t=$(( TOTAL1 - TOTAL0 )) -v hz="$HZ" 'BEGIN {
  printf "Host CPU steal during the loads (/proc/stat): %.2f s of %.1f s CPU time (%.2f %%).\n",
    s / hz, t / hz, (t > 0 ? 100 * s / t : 0) }'
echo "CPU ms/req: the gateway process's user + system CPU over both loads (1 and 50 connections) divided by their requests; node CPU ms/req: the node's over the same loads (on the first row the node is the gateway). Peak RSS: VmHWM after that row's loads."
[ -n "$ROUTER_NOTE" ] && echo "$ROUTER_NOTE"
exit "$FAILED"
