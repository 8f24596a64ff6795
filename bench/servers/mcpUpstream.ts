/**
 * The MCP benchmark's upstream: answers every POSTed tools/call (id 42) by its path —
 * `/small` a ~200-byte JSON result, `/large` a 1 MiB JSON result whose text is JSON itself (an escaped
 * quote every few bytes: the hardest text to step over), `/code` a 1 MiB result of source code (a
 * file a tool read), `/prose` a 1 MiB result of plain text (a document), `/sse` an event stream of two
 * progress notifications and then the result.
 */
import { createServer } from "node:http";

const result = (text: string) =>
  Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 42, result: { content: [{ type: "text", text }] } }));
const small = result("x".repeat(120));
const line = 'row 0042: {"key": "value", "path": "C:\\\\data\\\\file.txt"}\n';
const large = result(line.repeat(Math.ceil((1 << 20) / line.length)).slice(0, 1 << 20));
const code = result(
  '  const value = options["key"] ?? fallback(\'x\'); // read the "key" option\n'
    .repeat(20_000)
    .slice(0, 1 << 20),
);
const prose = result(
  "Breakwater keeps one failing MCP server from taking its callers down; it reads each answer as it passes. "
    .repeat(10_000)
    .slice(0, 1 << 20),
);
const bodies: Record<string, Buffer> = { "/large": large, "/code": code, "/prose": prose };
const event = (message: unknown) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;
const progress = (n: number) =>
  event({
    jsonrpc: "2.0",
    method: "notifications/progress",
    params: { progressToken: "p42", progress: n, total: 2 },
  });
const sseEvents = [progress(1), progress(2), `event: message\ndata: ${small.toString("utf8")}\n\n`];

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.url === "/sse") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (const text of sseEvents) res.write(text);
      res.end();
      return;
    }
    const body = bodies[req.url ?? ""] ?? small;
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`ready ${JSON.stringify(server.address())}\n`);
});
