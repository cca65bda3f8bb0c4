#!/usr/bin/env bash
# Refreshes the browser libraries the dashboard and GraphiQL pages ship inside the binary
# (crates/web/vendor) from the npm registry, at the versions pinned below, and checks every
# file against crates/web/vendor/SHA256SUMS.
#
#   scripts/vendor-refresh.sh           fetch the pinned versions and verify them (no change
#                                       to the tree unless a file differs: then it fails)
#   scripts/vendor-refresh.sh --update  fetch, copy into crates/web/vendor, rewrite SHA256SUMS
#                                       (after changing a version below, review the diff)
#   scripts/vendor-refresh.sh --check   verify the committed files against SHA256SUMS only
#                                       (offline; CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=crates/web/vendor
ECHARTS=6.1.0
GRAPHIQL=3.9.0
REACT=18.3.1

if [[ "${1:-}" == "--check" ]]; then
  (cd "$VENDOR" && sha256sum --quiet -c SHA256SUMS)
  echo "vendored files match SHA256SUMS"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$ECHARTS" "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for t in "$work"/*.tgz; do
  d="${t%.tgz}"; mkdir -p "$d"; tar xzf "$t" -C "$d"
done
stage="$work/stage"
mkdir -p "$stage"/{echarts,graphiql,react}
cp "$work/echarts-$ECHARTS/package/dist/echarts.common.min.js" "$work/echarts-$ECHARTS/package/LICENSE" "$work/echarts-$ECHARTS/package/NOTICE" "$stage/echarts/"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js" "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" "$work/graphiql-$GRAPHIQL/package/LICENSE" "$stage/graphiql/"
cp "$work/react-$REACT/package/umd/react.production.min.js" "$work/react-$REACT/package/LICENSE" "$stage/react/"
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" "$stage/react/"
printf 'echarts %s\ngraphiql %s\nreact %s\nreact-dom %s\n' "$ECHARTS" "$GRAPHIQL" "$REACT" "$REACT" > "$stage/VERSIONS"
(cd "$stage" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)

if [[ "${1:-}" == "--update" ]]; then
  rm -rf "$VENDOR"
  mkdir -p "$VENDOR"
  cp -r "$stage"/. "$VENDOR"/
  echo "updated $VENDOR:"; cat "$VENDOR/VERSIONS"
  exit 0
fi
if diff -r "$stage" "$VENDOR" >/dev/null; then
  echo "the vendored files are exactly the pinned npm packages':"; cat "$VENDOR/VERSIONS"
else
  diff -rq "$stage" "$VENDOR" || true
  echo "the vendored files differ from the pinned npm packages; run with --update and review" >&2
  exit 1
fi
