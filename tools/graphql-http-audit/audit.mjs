// GraphQL-over-HTTP conformance audit (graphql-http's server audits) of xingyi endpoints.
// Usage: XINGYI_AUDIT_TOKEN=<jwt> node audit.mjs <url> [<url> ...]
// Every request carries `Authorization: Bearer $XINGYI_AUDIT_TOKEN` on top of the audit's own
// headers. Exits 1 if any MUST audit fails on any URL (or any audit cannot run at all, e.g. the
// server is unreachable); SHOULD/MAY failures are only reported, unless GRAPHQL_HTTP_AUDIT_STRICT=1
// (CI): then every audit must pass, so a regression at any level fails the run.
import { serverAudits } from "graphql-http";

const urls = process.argv.slice(2);
if (urls.length === 0 || urls.some((u) => u.startsWith("-"))) {
  console.error("usage: XINGYI_AUDIT_TOKEN=<jwt> node audit.mjs <url> [<url> ...]");
  process.exit(2);
}
const token = process.env.XINGYI_AUDIT_TOKEN ?? "";
if (token === "") console.error("warning: XINGYI_AUDIT_TOKEN is not set; requests go unauthenticated");

// Requests made by the audit currently running, to show what a failing audit sent.
let requests = [];

async function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token !== "") headers.set("authorization", `Bearer ${token}`);
  const method = init.method ?? "GET";
  const shown = [...headers].filter(([k]) => k !== "authorization").map(([k, v]) => `${k}: ${v}`);
  requests.push(`${method} ${input}${shown.length ? ` [${shown.join("; ")}]` : ""}` +
    (init.body !== undefined ? ` body=${String(init.body)}` : ""));
  return fetch(input, { ...init, headers });
}

const levelOf = (name) => name.split(" ", 1)[0]; // MUST | SHOULD | MAY
const strict = process.env.GRAPHQL_HTTP_AUDIT_STRICT === "1";
let mustFailures = 0;
let otherFailures = 0;

for (const url of urls) {
  console.log(`== ${url}`);
  const counts = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] }; // [passed, failed]
  const shouldWarnings = [];
  const mayNotices = [];
  for (const audit of serverAudits({ url, fetchFn })) {
    requests = [];
    let result;
    let fatal = false;
    try {
      result = await audit.fn();
    } catch (err) {
      // graphql-http throws only on fatal problems (e.g. connection refused): a failure at any level.
      fatal = true;
      const cause = err?.cause?.message ? ` (${err.cause.message})` : "";
      result = { id: audit.id, name: audit.name, status: "error", reason: `fatal: ${err?.message ?? err}${cause}` };
    }
    const level = levelOf(result.name);
    if (result.status === "ok") {
      counts[level][0]++;
      console.log(`PASS ${result.id} ${result.name}`);
      continue;
    }
    counts[level][1]++;
    const failed = level === "MUST" || fatal;
    if (failed) mustFailures++;
    else otherFailures++;
    if (!failed && level === "SHOULD") shouldWarnings.push(`${result.id} ${result.name}`);
    else if (!failed) mayNotices.push(`${result.id} ${result.name}`);
    console.log(`${failed ? "FAIL" : "WARN"} ${result.id} ${result.name}: ${result.reason}`);
    const res = result.response;
    if (res) console.log(`       response: ${res.status} content-type=${res.headers.get("content-type") ?? "-"}`);
    for (const r of requests) console.log(`       request: ${r}`);
  }
  console.log(
    `summary ${url}: ${counts.MUST[0]} MUST passed, ${counts.MUST[1]} MUST failed; ` +
      `${counts.SHOULD[0]} SHOULD passed, ${shouldWarnings.length} SHOULD warnings` +
      (shouldWarnings.length ? `: ${shouldWarnings.join(", ")}` : "") +
      `; ${counts.MAY[0]} MAY passed, ${mayNotices.length} MAY not met` +
      (mayNotices.length ? `: ${mayNotices.join(", ")}` : ""),
  );
}

if (mustFailures > 0) {
  console.error(`graphql-http audit: ${mustFailures} MUST or fatal audit failure(s)`);
  process.exit(1);
}
if (strict && otherFailures > 0) {
  console.error(`graphql-http audit (strict): ${otherFailures} SHOULD/MAY audit(s) not passed`);
  process.exit(1);
}
console.log(`graphql-http audit: all MUST audits passed${strict ? ", and every SHOULD and MAY" : ""}`);
