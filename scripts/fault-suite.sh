#!/usr/bin/env bash
# The reliability suite: real xingyi processes on loopback killed, restored and soaked, counting
# lost / duplicated / diverged / errors (crates/bench/src/fault.rs). Prints a Markdown table;
# fails when any count is not zero.
# Usage: scripts/fault-suite.sh [--short] [--debug] [--only hub-kill,node-restore,two-hubs,soak]
#   --short  the bounded variant CI runs (60 writes, 3 kills, a 10 s soak; full: 2000, 20, 60 s)
#   --debug  use debug builds (what CI has built already) instead of building release
# PostgreSQL for two-hubs: XINGYI_TEST_PG (default postgres://postgres@127.0.0.1:5432; "off" skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
args=()
for a in "$@"; do
  case "$a" in
    --debug) profile=debug ;;
    *) args+=("$a") ;;
  esac
done
flag=()
[ "$profile" = release ] && flag=(--release)
cargo build "${flag[@]}" --locked -p cli -p bench --bin xingyi --bin xingyi-fault
exec "target/$profile/xingyi-fault" --xingyi "target/$profile/xingyi" "${args[@]}"
