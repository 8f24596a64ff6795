/**
 * The benchmark's upstream: answers every request with a fixed JSON-RPC result of ~200 bytes; an
 * `initialize` also gets a session id (`Mcp-Session-Id: bench-session`), for session traffic.
 */
import { createServer } from "node:http";

const body = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  result: { content: [{ type: "text", text: "x".repeat(120) }], isError: false },
});
const server = createServer((req, res) => {
  let initialize = false;
  req.on("data", (chunk: Buffer) => {
    if (chunk.includes('"initialize"')) initialize = true;
  });
  req.on("end", () => {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...(initialize ? { "mcp-session-id": "bench-session" } : {}),
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`ready ${JSON.stringify(server.address())}\n`);
});
