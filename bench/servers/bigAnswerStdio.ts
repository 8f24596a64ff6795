/**
 * A stdio MCP server for the memory benchmark (newline-delimited JSON-RPC, no SDK, so that its own
 * framing costs nothing): `initialize` is answered at once; a `tools/call` naming
 * `params.arguments.bytes` is answered with a tool result of that many bytes of text on one line,
 * written at the pace the proxy reads it.
 */
import { createInterface } from "node:readline";

const piece = Buffer.alloc(65_536, "x");

async function write(data: string | Buffer): Promise<void> {
  if (!process.stdout.write(data)) await new Promise((resolve) => process.stdout.once("drain", resolve));
}

async function answerBig(id: unknown, bytes: number): Promise<void> {
  await write(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"`);
  for (let sent = 0; sent < bytes; sent += piece.length)
    await write(sent + piece.length <= bytes ? piece : piece.subarray(0, bytes - sent));
  await write(`"}]}}\n`);
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line) as {
    id?: unknown;
    method?: string;
    params?: { protocolVersion?: string; arguments?: { bytes?: number } };
  };
  if (message.id === undefined || message.method === undefined) return;
  const { id } = message;
  queue = queue.then(() => {
    if (message.method === "initialize") {
      const result = {
        protocolVersion: message.params?.protocolVersion ?? "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "big-answer", version: "1.0.0" },
      };
      return write(`${JSON.stringify({ jsonrpc: "2.0", id, result })}\n`);
    }
    return answerBig(id, message.params?.arguments?.bytes ?? 100);
  });
});
