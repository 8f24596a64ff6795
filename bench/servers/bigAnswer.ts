/**
 * An MCP-shaped upstream for the memory benchmark whose answers are as large as asked: a POST whose
 * JSON-RPC body names `params.arguments.bytes` is answered with a tool result of that many bytes of
 * text, as one `text/event-stream` event (`?sse`) or one `application/json` body, written in 64 KiB
 * pieces at the pace the proxy reads them.
 */
import { createServer, type ServerResponse } from "node:http";

const piece = Buffer.alloc(65_536, "x");

async function writeBig(res: ServerResponse, head: string, bytes: number, tail: string): Promise<void> {
  res.write(head);
  for (let sent = 0; sent < bytes; sent += piece.length) {
    const part = sent + piece.length <= bytes ? piece : piece.subarray(0, bytes - sent);
    if (!res.write(part)) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end(tail);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      id?: unknown;
      params?: { arguments?: { bytes?: number } };
    };
    const bytes = message.params?.arguments?.bytes ?? 100;
    const head = `{"jsonrpc":"2.0","id":${JSON.stringify(message.id ?? null)},"result":{"content":[{"type":"text","text":"`;
    const tail = `"}]}}`;
    if (req.url?.includes("sse")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      void writeBig(res, `event: message\ndata: ${head}`, bytes, `${tail}\n\n`);
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      void writeBig(res, head, bytes, tail);
    }
  });
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`ready ${JSON.stringify(server.address())}\n`);
});
