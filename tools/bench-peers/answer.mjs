// POSTs a GraphQL query and prints the answer's `data` as canonical JSON (object keys sorted,
// so key order does not count), optionally one field down (`--unwrap city`: the hub's
// `city(code: …) { … }` wraps the node's own answer). Exits non-zero on an HTTP error, on
// GraphQL errors or without data, printing the answer to stderr.
// Usage: node answer.mjs <url> <token> <query> [--unwrap field]
const [url, token, query, flag, field] = process.argv.slice(2);
if (!query || (flag && (flag !== "--unwrap" || !field))) {
  console.error("usage: node answer.mjs <url> <token> <query> [--unwrap field]");
  process.exit(2);
}

const canonical = (v) =>
  Array.isArray(v)
    ? v.map(canonical)
    : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]))
      : v;

const res = await fetch(url, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  body: JSON.stringify({ query }),
});
const text = await res.text();
let body;
try {
  body = JSON.parse(text);
} catch {
  body = undefined;
}
if (!res.ok || !body || body.errors || body.data == null) {
  console.error(`${url}: HTTP ${res.status}: ${text.slice(0, 2000)}`);
  process.exit(1);
}
const data = field ? body.data[field] : body.data;
if (data == null) {
  console.error(`${url}: no data.${field}: ${text.slice(0, 2000)}`);
  process.exit(1);
}
process.stdout.write(JSON.stringify(canonical(data)) + "\n");
