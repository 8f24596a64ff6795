import type { IncomingHttpHeaders } from "node:http";
import type { Message } from "./jsonRpcCall.ts";
import { modernClaim } from "./protocolEra.ts";

/**
 * The body field `Mcp-Name` mirrors, per method: the table the SDK 2.x (2.4.0) shares between its
 * client and its server (`MCP_NAME_HEADER_SOURCE`): streamable-http.mdx "Standard request headers" for
 * tools, prompts and resources; SEP-2663 (tasks extension) "Streamable HTTP: Routing Headers" for
 * `tasks/*`. A method not in it has no `Mcp-Name` to check.
 */
const nameSource: ReadonlyMap<string, "name" | "uri" | "taskId"> = new Map([
  ["tools/call", "name"],
  ["prompts/get", "name"],
  ["resources/read", "uri"],
  ["tasks/get", "taskId"],
  ["tasks/update", "taskId"],
  ["tasks/cancel", "taskId"],
]);

/** `=?base64?…?=`: the sentinel is case-sensitive, lowercase (streamable-http.mdx, "Value Encoding"). */
const sentinelPrefix = "=?base64?";
const sentinelSuffix = "?=";
const canonicalBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Whether the MCP routing headers of a request disagree with the body they mirror (MCP 2026-07-28,
 * streamable-http.mdx "Server Validation": 400 and -32020): a middle box that routes or guards by them
 * must not be told one thing while the server does another, and a stdio server never sees them, so
 * the proxy checks them as the SDK 2.x server does. Only requests that claim a modern revision in their
 * `_meta` are checked: the headers belong to that revision, and an earlier-era request passes as it
 * came. For such a request `MCP-Protocol-Version` and `Mcp-Method` are required and must match the body;
 * `Mcp-Name` is required when the method is in the table and the body carries its field as a string,
 * and must match it once trimmed and decoded. Notifications are not checked. Returns the problem.
 */
export function headersDisagree(
  headers: IncomingHttpHeaders,
  messages: readonly Message[],
): string | undefined {
  // a batch (2026-07-28 has none) is checked element by element
  for (const message of messages) {
    if (!("id" in message) || typeof message.method !== "string") continue;
    const claim = modernClaim(message);
    if (claim === undefined) continue;
    const problem = disagreement(headers, message, message.method, claim);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function disagreement(
  headers: IncomingHttpHeaders,
  message: Message,
  method: string,
  claim: string,
): string | undefined {
  const version = headers["mcp-protocol-version"];
  if (typeof version !== "string") return "the required MCP-Protocol-Version header is absent";
  if (trimOws(version) !== claim) return "MCP-Protocol-Version does not match the body's protocol version";
  const named = headers["mcp-method"];
  if (typeof named !== "string") return "the required Mcp-Method header is absent";
  if (trimOws(named) !== method) return "Mcp-Method does not match the body's method";
  const field = nameSource.get(method);
  if (field === undefined) return undefined;
  const value = (message.params as Record<string, unknown> | undefined)?.[field];
  const name = headers["mcp-name"];
  if (typeof name !== "string")
    return typeof value === "string" ? "the required Mcp-Name header is absent" : undefined;
  const decoded = decodeValue(trimOws(name));
  if (decoded === undefined) return "Mcp-Name carries an invalid Base64 value";
  if (typeof value === "string" && decoded !== value) return "Mcp-Name does not match the body";
  return undefined;
}

/** The value of an `Mcp-Name` header: as written, or decoded from its sentinel; undefined when that is invalid. */
function decodeValue(value: string): string | undefined {
  if (!value.startsWith(sentinelPrefix) || !value.endsWith(sentinelSuffix)) return value;
  const encoded = value.slice(sentinelPrefix.length, value.length - sentinelSuffix.length);
  if (!canonicalBase64.test(encoded)) return undefined;
  try {
    return strictUtf8.decode(Buffer.from(encoded, "base64"));
  } catch {
    return undefined;
  }
}

/** A field value without RFC 9110's optional whitespace (SP, HTAB) around it; the same string when it has none. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

const isOws = (c: number) => c === 0x20 || c === 0x09;
