/**
 * A small stdio MCP server for the tests (the official SDK on stdin/stdout). Tools: `echo`, `pid`
 * (its process id), `env` (the value of a variable of its environment), `progress` (reports steps,
 * then answers), `ask` (asks the client's model through sampling, and answers with its reply, after a
 * log message), `later` (logs a message 50 ms after answering: a notification of no request), `crash`
 * (exits with code 3 while the call is pending). With argument `--fail-start`
 * it exits before reading anything.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

if (process.argv.includes("--fail-start")) process.exit(1);

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
await server.connect(new StdioServerTransport());
