// Composes subgraph SDL files with @apollo/composition; exits non-zero on any error.
// Usage: node compose.mjs province.graphql city.graphql
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node compose.mjs <subgraph.graphql>...");
  process.exit(2);
}
const services = files.map((file, i) => ({
  name: basename(file, ".graphql"),
  url: `http://subgraph-${i}.invalid/graphql`,
  typeDefs: parse(readFileSync(file, "utf8")),
}));
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  console.error(`composition failed with ${result.errors.length} error(s):`);
  for (const e of result.errors) console.error(`- ${e.extensions?.code ?? ""} ${e.message}`);
  process.exit(1);
}
for (const h of result.hints ?? []) console.log(`hint: ${h.definition?.code ?? ""} ${h.message}`);
console.log(`composed ${services.map((s) => s.name).join(" + ")}: supergraph of ${result.supergraphSdl.length} bytes`);
