/**
 * The proxy benchmark's OTLP/HTTP receiver (`node otlpSink.ts <port> <span name>`): answers every POST
 * to /v1/traces and /v1/metrics 200 with an empty body (an empty `Export…ServiceResponse`, which is
 * full success: https://opentelemetry.io/docs/specs/otlp/#full-success-1), after reading the body
 * and throwing it away. It counts, per signal, the exports and their bytes; in traces, the spans named
 * `<span name>`, and the server and client spans among all (by the attribute key only each kind has:
 * `client.address` on `mcp.server` spans, `server.address` on `mcp.client` spans). Protobuf holds a
 * string's bytes as they are, so they are found in the body without decoding it. GET /counts answers
 * the counts as JSON. A process of its own: the benchmark's process is blocked in wrk while the proxy
 * exports.
 */
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";

const [port, spanName] = process.argv.slice(2) as [string, string];
const name = Buffer.from(spanName);
const serverKey = Buffer.from("client.address");
const clientKey = Buffer.from("server.address");
const counts = {
  traces: { exports: 0, bytes: 0, named: 0, server: 0, client: 0 },
  metrics: { exports: 0, bytes: 0 },
};

/** How often `needle` occurs in `haystack`. */
function occurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) {
    count++;
  }
  return count;
}

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/counts") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(counts));
    return;
  }
  const signal =
    req.method !== "POST"
      ? undefined
      : req.url === "/v1/traces"
        ? "traces"
        : req.url === "/v1/metrics"
          ? "metrics"
          : undefined;
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => {
    if (signal === "traces") chunks.push(chunk); // only traces are searched: metrics are counted, not kept
    if (signal !== undefined) counts[signal].bytes += chunk.length;
  });
  req.on("end", () => {
    if (signal === undefined) {
      res.writeHead(404).end();
      return;
    }
    counts[signal].exports++;
    if (signal === "traces") {
      const body = Buffer.concat(chunks);
      const plain = req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
      counts.traces.named += occurrences(plain, name);
      counts.traces.server += occurrences(plain, serverKey);
      counts.traces.client += occurrences(plain, clientKey);
    }
    res.writeHead(200, { "content-length": 0 }).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), "127.0.0.1", () => {
  process.stdout.write(`ready ${JSON.stringify(server.address())}\n`);
});
