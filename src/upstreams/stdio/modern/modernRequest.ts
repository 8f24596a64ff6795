import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { decodeUtf8 } from "../../../jsonrpc/jsonRpc.ts";
import type { UpstreamRequest } from "../../Upstream.ts";
import { claimedVersion, isModernVersion } from "./modernEra.ts";

/** A client's message of the modern era, parsed: a request (it has an id) or a notification. */
export type ModernMessage = Record<string, unknown> & { readonly method: string };

/**
 * The message of a POST without a session that claims a modern revision in its `_meta` (2026-07-28:
 * "Every request now carries its protocol version … in `_meta`"): one JSON-RPC message, never a batch
 * (the revision has none). Undefined for anything else, which the earlier era's rules serve. The body
 * is parsed here, once, for requests without a session only.
 */
export function modernMessage(request: UpstreamRequest): ModernMessage | undefined {
  if (request.method !== "POST" || request.body === undefined) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(decodeUtf8(request.body));
  } catch {
    return undefined;
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) return undefined;
  const method = (message as { method?: unknown }).method;
  if (typeof method !== "string" || !isModernVersion(claimedVersion(message))) return undefined;
  return message as ModernMessage;
}

/** Whether the message is a request (it has a valid JSON-RPC id), not a notification. */
export function isRequest(message: ModernMessage): boolean {
  const id = message["id"];
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

/**
 * What a server of the earlier era answers a modern request, as Breakwater tells it for a stdio server
 * of that era (SPEC §8.3): for `server/discover`, the error the process gave the probe (commonly
 * -32601), else -32601; for any other request, the 400 of no session. A 4xx with a JSON-RPC error that
 * is not -32022 — what makes SDK 2.x clients in `auto` mode fall back to `initialize` (research §1.4;
 * never 401/403, never a 5xx, which fail them instead).
 */
export function earlierEraAnswer(message: ModernMessage, probeAnswer: JSONRPCMessage | undefined): string {
  const id = message["id"];
  let error: unknown;
  if (message.method === "server/discover") {
    const given = probeAnswer !== undefined && "error" in probeAnswer ? probeAnswer.error : undefined;
    error =
      given !== undefined && given.code !== -32022 ? given : { code: -32601, message: "Method not found" };
  } else {
    error = { code: -32000, message: "Bad Request: no session; send initialize first" };
  }
  return JSON.stringify({ jsonrpc: "2.0", id, error });
}
