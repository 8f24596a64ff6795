/**
 * A small stdio MCP server for the tests (the official SDK on stdin/stdout). Tools: `echo`, `pid`
 * (its process id), `env` (the value of a variable of its environment), `progress` (reports steps,
 * then answers), `ask` (asks the client's model through sampling, and answers with its reply, after a
 * log message), `later` (logs a message 50 ms after answering: a notification of no request), `crash`
 * (exits with code 3 while the call is pending), `hold` (answers once the file named by its `file`
 * argument exists: a call kept in flight as long as a test wants), `big` (answers with a text of
 * `mib` MiB: a stdout line that long).
 *
 * Arguments: `--fail-start` exits before reading anything; `--pid-dir <dir>` writes an empty file
 * named by its pid there on start (tests check that every process they caused is gone);
 * `--wait-for <file>` reads nothing, and so answers no `initialize`, until `<file>` exists;
 * `--refuse-initialize` answers `initialize` with a JSON-RPC error; `--record <file>` appends every
 * byte it reads on stdin to `<file>` (what Breakwater sent the process, as it came).
 */
import { appendFileSync, closeSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
if (process.argv.includes("--fail-start")) process.exit(1);
const pidDir = argument("--pid-dir");
if (pidDir !== undefined) writeFileSync(join(pidDir, String(process.pid)), "");
const waitFor = argument("--wait-for");
// waits for a file a test creates (a signal, not a measure of time)
const exists = async (file: string) => {
  while (!existsSync(file)) await sleep(5);
};
if (waitFor !== undefined) await exists(waitFor);
if (process.argv.includes("--refuse-initialize")) {
  createInterface({ input: process.stdin }).on("line", (line) => {
    const message = JSON.parse(line) as { id?: unknown; method?: string };
    if (message.method !== "initialize") return;
    const error = { code: -32602, message: "Unsupported protocol version" };
    process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", id: message.id, error })}\n`);
  });
} else {
  await serve();
}

async function serve(): Promise<void> {
  const server = new McpServer(
    { name: "breakwater-test-stdio", version: "1.0.0" },
    { capabilities: { logging: {} } },
  );
  const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });
  server.registerTool("echo", { inputSchema: { text: z.string() } }, async ({ text: value }) => text(value));
  server.registerTool("pid", {}, async () => text(String(process.pid)));
  server.registerTool("env", { inputSchema: { name: z.string() } }, async ({ name }) =>
    text(process.env[name] ?? "(unset)"),
  );
  server.registerTool("progress", { inputSchema: { steps: z.number().int() } }, async ({ steps }, extra) => {
    const token = extra._meta?.progressToken;
    for (let step = 1; step <= steps; step++) {
      if (token !== undefined) {
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: step, total: steps },
        });
      }
    }
    return text(`${steps} steps`);
  });
  server.registerTool("ask", { inputSchema: { question: z.string() } }, async ({ question }, extra) => {
    await extra.sendNotification({
      method: "notifications/message",
      params: { level: "info", data: `asking: ${question}` },
    });
    const reply = await server.server.createMessage({
      messages: [{ role: "user", content: { type: "text", text: question } }],
      maxTokens: 50,
    });
    return text(reply.content.type === "text" ? reply.content.text : "(not text)");
  });
  server.registerTool("later", { inputSchema: { note: z.string() } }, async ({ note }) => {
    // after the call has been answered: a notification that belongs to no request
    setTimeout(() => void server.server.sendLoggingMessage({ level: "info", data: `later: ${note}` }), 50);
    return text("scheduled");
  });
  server.registerTool("crash", {}, async () => {
    process.stderr.write("about to crash\n");
    setTimeout(() => process.exit(3), 10);
    return new Promise(() => {}); // never answers: the process dies first
  });
  server.registerTool("mute", {}, async () => {
    // closes stdout for good and goes on running: it can never answer again
    closeSync(1);
    process.stderr.write("stdout closed\n");
    setInterval(() => {}, 60_000);
    return new Promise(() => {});
  });
  server.registerTool("hold", { inputSchema: { file: z.string() } }, async ({ file }) => {
    await exists(file);
    return text("released");
  });
  server.registerTool("big", { inputSchema: { mib: z.number() } }, async ({ mib }) =>
    text("x".repeat(mib * 1024 * 1024)),
  );
  const record = argument("--record");
  // beside the transport's own reader, attached in the same turn: neither misses a byte
  if (record !== undefined) process.stdin.on("data", (chunk: Buffer) => appendFileSync(record, chunk));
  await server.connect(new StdioServerTransport());
}
