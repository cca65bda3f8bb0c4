// Composes one subgraph's SDL into a supergraph with @apollo/composition (as tools/composition
// does for the CI check) and writes the supergraph SDL.
// Usage: node compose.mjs <subgraph.graphql> <subgraph-url> <out-supergraph.graphql>
import { readFileSync, writeFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const [sdlFile, url, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node compose.mjs <subgraph.graphql> <subgraph-url> <out.graphql>");
  process.exit(2);
}
const result = composeServices([
  { name: "city", url, typeDefs: parse(readFileSync(sdlFile, "utf8")) },
]);
if (result.errors && result.errors.length > 0) {
  console.error(`composition failed with ${result.errors.length} error(s):`);
  for (const e of result.errors) console.error(`- ${e.extensions?.code ?? ""} ${e.message}`);
  process.exit(1);
}
writeFileSync(out, result.supergraphSdl);
console.error(`composed the city subgraph (${url}): supergraph of ${result.supergraphSdl.length} bytes`);
