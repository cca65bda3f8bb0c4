// Apollo Gateway (@apollo/gateway) behind Apollo Server's standalone HTTP server, serving a
// static supergraph. The client's Authorization header is forwarded to the subgraph: the
// request context carries it, and each RemoteGraphQLDataSource sets it in willSendRequest.
// Usage: node apollo-gateway.mjs <supergraph.graphql> <port>
import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";

const [supergraphFile, port] = process.argv.slice(2);
if (!port) {
  console.error("usage: node apollo-gateway.mjs <supergraph.graphql> <port>");
  process.exit(2);
}

class ForwardAuthorization extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) request.http.headers.set("authorization", context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphFile, "utf8"),
  buildService: ({ url }) => new ForwardAuthorization({ url }),
});
const server = new ApolloServer({ gateway, plugins: [ApolloServerPluginLandingPageDisabled()] });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.error(`Apollo Gateway at ${url}`);
