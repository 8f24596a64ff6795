/**
 * A raw 2026-07-28 stdio server that answers `server/discover`, then closes its stdout
 * on the first other request (after acknowledging it, for a `subscriptions/listen`) and goes on
 * running (it can never answer again).
 */
import { closeSync } from "node:fs";
import { createInterface } from "node:readline";
import { discoverAnswer } from "../support/discoverAnswer.ts";

const write = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
setInterval(() => {}, 60_000); // keeps running with stdout closed

createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line) as { id?: number; method?: string };
  if (message.id === undefined) return;
  if (message.method === "server/discover") {
    write(discoverAnswer(message.id));
    return;
  }
  if (message.method === "subscriptions/listen") {
    write({
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: { _meta: { "io.modelcontextprotocol/subscriptionId": message.id }, notifications: {} },
    });
  }
  // process.stdout.destroy() leaves fd 1 open (node never closes its stdio): close the fd itself
  process.stdout.once("drain", () => {});
  closeSync(1);
  process.stderr.write("stdout closed\n");
});
