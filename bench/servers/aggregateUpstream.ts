/**
 * The aggregate benchmark's upstream: a 2026-07-28 MCP server (raw node:http, so that its own cost stays
 * small beside the proxy's) listing 50 tools with `listChanged`, holding `subscriptions/listen` streams
 * open after their acknowledgement, and answering every `tools/call` with a ~200-byte result. It counts
 * the lists it is asked for (`GET /count`), so the benchmark can tell that Breakwater answered lists
 * without asking.
 */
import { createServer } from "node:http";

const TOOLS = Number(process.env["BENCH_TOOLS"] ?? 50);
const tools = Array.from({ length: TOOLS }, (_, i) => ({
  name: i === 0 ? "echo" : `tool_${String(i).padStart(2, "0")}`,
  description: `Tool number ${i} of the benchmark's server: returns its arguments as text.`,
  inputSchema: { type: "object", properties: { text: { type: "string" } } },
}));
const serverInfo = { "io.modelcontextprotocol/serverInfo": { name: "bench-upstream", version: "1.0.0" } };
let lists = 0;

const json = (id: unknown, result: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: "2.0", id, result: { resultType: "complete", ...result } });

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url?.endsWith("/count")) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ lists }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    let message: { id?: unknown; method?: string };
    try {
      message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof message;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const send = (body: string) =>
      res
        .writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
        .end(body);
    switch (message.method) {
      case "server/discover":
        return send(
          json(message.id, {
            supportedVersions: ["2026-07-28"],
            capabilities: { tools: { listChanged: true } },
            _meta: serverInfo,
            ttlMs: 0,
            cacheScope: "public",
          }),
        );
      case "tools/list":
        lists++;
        return send(json(message.id, { tools, ttlMs: 0, cacheScope: "public" }));
      case "tools/call":
        return send(
          json(message.id, { content: [{ type: "text", text: "breakwater benchmark answer ".repeat(5) }] }),
        );
      case "subscriptions/listen": {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const ack = {
          jsonrpc: "2.0",
          method: "notifications/subscriptions/acknowledged",
          params: {
            notifications: { toolsListChanged: true },
            _meta: { "io.modelcontextprotocol/subscriptionId": message.id },
          },
        };
        res.write(`event: message\ndata: ${JSON.stringify(ack)}\n\n`);
        return; // held open: the watch stands
      }
      default:
        return send(
          JSON.stringify({
            jsonrpc: "2.0",
            id: message.id ?? null,
            error: { code: -32601, message: "Method not found" },
          }),
        );
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`ready ${JSON.stringify(server.address())}\n`);
});
