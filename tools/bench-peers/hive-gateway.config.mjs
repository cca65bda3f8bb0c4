// Hive Gateway's configuration for scripts/bench-peers.sh (passed with --config-path).
// The client's Authorization header is forwarded to the subgraph (propagateHeaders). Identical
// subgraph calls in flight share one call by default (deduplicateInflightRequests); the bench
// turns that off unless BENCH_DEDUP=1, as it does for the xingyi hub (node_dedup), so each
// client request reaches the node under every gateway.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({
      authorization: request.headers.get("authorization"),
    }),
  },
  transportEntries: {
    "*.http": { options: { deduplicateInflightRequests: process.env.BENCH_DEDUP === "1" } },
  },
});
