#!/usr/bin/env bash
# Runs the sync benchmark (release build) and prints a Markdown report.
# Usage: scripts/bench-sync.sh [--changes 20000] [--batch 1000] [--rate 200] [--seconds 30]
# PostgreSQL: XINGYI_BENCH_PG (default postgres://postgres@127.0.0.1:5432; "off" skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bench --bin xingyi-bench-sync
exec target/release/xingyi-bench-sync "$@"
