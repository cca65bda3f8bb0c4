#!/usr/bin/env bash
# Runs the federation benchmark (release build) and prints a Markdown report.
# Usage: scripts/bench-federation.sh [--requests 1000] [--clients 50]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p cli -p bench
exec target/release/xingyi-bench "$@"
