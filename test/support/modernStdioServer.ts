/**
 * A stdio MCP server of the 2026-07-28 era for the tests: the official SDK 2.4.0's `serveStdio` (both
 * eras: a modern opening pins the process modern, an `initialize` pins it to the earlier era). Tools:
 * `echo`, `pid` (its process id), `slow` (reports `steps` progress notifications, then answers),
 * `confirm` (an `input_required` result with an elicitation; completes on the retry carrying the
 * answer), `grow` (registers a tool named by its argument: `notifications/tools/list_changed`),
 * `log` (a log message, then the answer), `hold` (answers once the file named by `file` exists; counts
 * its calls begun in `<file>.started`, its cancellations in `<file>.cancelled`), `crash` (exits with code 3 while the call is pending).
 *
 * Arguments: `--pid-dir <dir>` writes an empty file named by its pid there on start.
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { acceptedContent, inputRequired, McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { z } from "zod";

const at = process.argv.indexOf("--pid-dir");
const pidDir = at === -1 ? undefined : process.argv[at + 1];
if (pidDir !== undefined) writeFileSync(join(pidDir, String(process.pid)), "");

// waits for a file a test creates (a signal, not a measure of time)
const exists = async (file: string, signal: AbortSignal) => {
  while (!existsSync(file) && !signal.aborted) await sleep(5);
};

serveStdio(() => {
  const server = new McpServer(
    { name: "breakwater-test-modern-stdio", version: "1.0.0" },
    { capabilities: { logging: {}, tools: { listChanged: true } } },
  );
  const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });
  server.registerTool("echo", { inputSchema: { text: z.string() } }, async ({ text: value }) => text(value));
  server.registerTool("pid", {}, async () => text(String(process.pid)));
  server.registerTool("slow", { inputSchema: { steps: z.number().int() } }, async ({ steps }, ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    for (let step = 1; step <= steps; step++) {
      await sleep(1);
      if (token !== undefined)
        await ctx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken: token, progress: step, total: steps },
        });
    }
    return text(`${steps} steps`);
  });
  const confirmation = z.object({ confirm: z.boolean() });
  server.registerTool("confirm", { inputSchema: { action: z.string() } }, async ({ action }, ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, "confirm", confirmation);
    if (answer === undefined)
      return inputRequired({
        inputRequests: {
          confirm: inputRequired.elicit({ message: `${action}?`, requestedSchema: confirmation }),
        },
      });
    return text(answer.confirm ? `${action}: done` : `${action}: declined`);
  });
  server.registerTool("grow", { inputSchema: { name: z.string() } }, async ({ name }) => {
    server.registerTool(name, {}, async () => text(name));
    return text(`added ${name}`);
  });
  server.registerTool("log", { inputSchema: { note: z.string() } }, async ({ note }, ctx) => {
    await ctx.mcpReq.log("info", `log: ${note}`);
    return text(note);
  });
  server.registerTool("hold", { inputSchema: { file: z.string() } }, async ({ file }, ctx) => {
    appendFileSync(`${file}.started`, "x");
    await exists(file, ctx.mcpReq.signal);
    if (ctx.mcpReq.signal.aborted) appendFileSync(`${file}.cancelled`, "x");
    return text("released");
  });
  server.registerTool("crash", {}, async () => {
    setTimeout(() => process.exit(3), 10);
    return new Promise<never>(() => {});
  });
  return server;
});
