/**
 * A stdio server of the 2026-07-28 era that writes what a server should not, for the tests of the
 * bounds of Breakwater's shared pool: it answers `server/discover` as a modern server, and before its
 * answer to any other request writes a line that is no JSON, answers to ids nobody asked (a number, a
 * string), a progress notification of a token nobody holds, a change notification of a subscription
 * nobody opened, a log message while no call asked for one, and a request to the client (which a
 * modern stdio server "MUST NOT" write). Each error answer it gets is written to stderr.
 */
import { createInterface } from "node:readline";
import { discoverAnswer } from "./discoverAnswer.ts";

const write = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);

createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line) as { id?: unknown; method?: string; error?: { code: number } };
  if (message.error !== undefined) {
    process.stderr.write(`error ${message.error.code} for ${String(message.id)}\n`);
    return;
  }
  if (message.id === undefined) return; // a notification
  if (message.method === "server/discover") {
    write(discoverAnswer(message.id));
    return;
  }
  process.stdout.write("this is no JSON\n");
  write({ jsonrpc: "2.0", id: 99_999, result: { resultType: "complete" } });
  write({ jsonrpc: "2.0", id: "stray", result: { resultType: "complete" } });
  write({
    jsonrpc: "2.0",
    method: "notifications/progress",
    params: { progressToken: 424_242, progress: 1 },
  });
  write({
    jsonrpc: "2.0",
    method: "notifications/tools/list_changed",
    params: { _meta: { "io.modelcontextprotocol/subscriptionId": 777 } },
  });
  write({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "to nobody" } });
  write({ jsonrpc: "2.0", id: "ask-1", method: "sampling/createMessage", params: {} });
  write({
    jsonrpc: "2.0",
    id: message.id,
    result: { resultType: "complete", content: [{ type: "text", text: "fine" }] },
  });
});
