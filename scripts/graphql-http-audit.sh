#!/usr/bin/env bash
# Audits the hub and both city nodes for GraphQL-over-HTTP conformance with graphql-http's
# server audits: starts `xingyi local` on spare ports with a fresh data dir, issues a
# province_admin token and runs tools/graphql-http-audit/audit.mjs against all three /graphql
# endpoints. Fails if any MUST audit fails; SHOULD/MAY findings are only reported.
# The binary is ${XINGYI_BIN:-${CARGO_TARGET_DIR:-target}/debug/xingyi} (relative to the repo root); ports can be
# overridden with XINGYI_AUDIT_HUB_PORT / XINGYI_AUDIT_YUNCHENG_PORT / XINGYI_AUDIT_LINFEN_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${XINGYI_BIN:-${CARGO_TARGET_DIR:-target}/debug/xingyi}"
hub_port="${XINGYI_AUDIT_HUB_PORT:-18600}"
yuncheng_port="${XINGYI_AUDIT_YUNCHENG_PORT:-18608}"
linfen_port="${XINGYI_AUDIT_LINFEN_PORT:-18610}"
ports=("$hub_port" "$yuncheng_port" "$linfen_port")

if [ ! -x "$bin" ]; then
  echo "graphql-http-audit: $bin not found or not executable (build it or set XINGYI_BIN)" >&2
  exit 2
fi

(
  cd tools/graphql-http-audit
  if [ ! -d node_modules/graphql-http ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
)

for port in "${ports[@]}"; do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/health"; then
    echo "graphql-http-audit: something already listens on port $port" >&2
    exit 2
  fi
done

data_dir="$(mktemp -d "${TMPDIR:-/tmp}/xingyi-graphql-http-audit.XXXXXX")"
log="$data_dir/local.log"
server_pid=""

cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    # `setsid` made the server a process-group leader: end the whole group.
    kill -TERM -- "-$server_pid" 2>/dev/null || kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setsid "$bin" local --data-dir "$data_dir" \
  --hub-port "$hub_port" --yuncheng-port "$yuncheng_port" --linfen-port "$linfen_port" \
  >"$log" 2>&1 &
server_pid=$!

startup_failed() {
  echo "graphql-http-audit: $1; last lines of the xingyi local log:" >&2
  tail -n 50 "$log" >&2 || true
  exit 1
}

deadline=$((SECONDS + 120))
for port in "${ports[@]}"; do
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health" || true)" = 200 ]; do
    kill -0 "$server_pid" 2>/dev/null || startup_failed "xingyi local exited during startup"
    [ "$SECONDS" -lt "$deadline" ] || startup_failed "port $port did not answer /health with 200 within 120 s"
    sleep 1
  done
done

token="$("$bin" token --role province_admin --sub graphql-http-audit --data-dir "$data_dir")"

XINGYI_AUDIT_TOKEN="$token" node tools/graphql-http-audit/audit.mjs \
  "http://127.0.0.1:$hub_port/graphql" \
  "http://127.0.0.1:$yuncheng_port/graphql" \
  "http://127.0.0.1:$linfen_port/graphql"
