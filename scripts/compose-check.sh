#!/usr/bin/env bash
# Composes the province and city subgraph SDL (schema/*.graphql, exported from code) with
# Apollo's official composition library and fails on any composition error.
set -euo pipefail
cd "$(dirname "$0")/../tools/composition"
if [ ! -d node_modules/@apollo/composition ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node compose.mjs ../../schema/province.graphql ../../schema/city.graphql
