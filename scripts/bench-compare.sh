#!/usr/bin/env bash
# Runs the comparison benchmark (release build) and prints a Markdown report.
# Usage: scripts/bench-compare.sh [--requests 200] [--units 200] [--indicators 30] [--years 10]
# PostgreSQL: XINGYI_BENCH_PG (default postgres://postgres@127.0.0.1:5432; "off" skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bench --bin xingyi-bench-compare
exec target/release/xingyi-bench-compare "$@"
