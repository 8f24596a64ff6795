import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { ReadBody } from "../jsonrpc/jsonRpcCall.ts";
import { sendBatchedToolList, sendToolNotAllowed } from "./mcpAnswers.ts";

/**
 * Whether a server with a `tools` filter can read a POST body as the server would: no content coding,
 * and UTF-8 (the default of `application/json`, RFC 8259 §8.1). A server that decodes gzip or UTF-16
 * would run a call the proxy never saw.
 */
export function readableBody(headers: IncomingHttpHeaders): boolean {
  const coding = headers["content-encoding"]?.trim().toLowerCase();
  if (coding !== undefined && coding !== "" && coding !== "identity") return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headers["content-type"] ?? "")?.[1]?.toLowerCase();
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}

/**
 * How a server's `tools` filter refuses a request before it is sent (SPEC §7.1), if it does: a
 * `tools/call` of a tool it leaves out — alone, in a batch, or as a notification, which some servers
 * run too — is no tool of this server (-32602: neutral, no permit taken, nothing forwarded); a batch
 * holding a `tools/list` (even a batch of one, whose answer is an array) is refused, since only a lone
 * list's answer is filtered. Costs a pass over the messages and a RegExp test per `tools/call`, on
 * filtered servers only.
 */
export function filterRefusal(
  read: Exclude<ReadBody, { kind: "other" }>,
  allows: (tool: string) => boolean,
): ((res: ServerResponse) => void) | undefined {
  const ids = read.kind === "call" ? read.call.ids : [];
  for (const message of read.messages) {
    if (message.method !== "tools/call") continue;
    const name = message.params?.name;
    if (typeof name === "string" && allows(name)) continue;
    const id = read.kind === "call" && !read.batch ? (ids[0] as string) : "null";
    const tool = typeof name === "string" ? name : String(name);
    return (res) => sendToolNotAllowed(res, id, tool);
  }
  if (read.batch && read.messages.some((message) => message.method === "tools/list"))
    return (res) => sendBatchedToolList(res, ids);
  return undefined;
}
