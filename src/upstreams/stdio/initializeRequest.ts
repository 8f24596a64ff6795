import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js";
import {
  isInitializeRequest,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { decodeUtf8 } from "../../jsonrpc/jsonRpc.ts";
import { errorAnswer } from "../../jsonrpc/jsonRpcAnswer.ts";
import type { UpstreamRequest } from "../Upstream.ts";

/** What a request without a session is: no `initialize`, one the transport would refuse, or one to serve. */
export type InitializeCheck =
  | { readonly kind: "none" }
  | { readonly kind: "refused"; readonly response: Response }
  | { readonly kind: "initialize"; readonly message: JSONRPCRequest };

/**
 * Reads a request that comes without a session: is it an `initialize`, and would the SDK's Streamable
 * HTTP transport take it? The checks are the transport's own for a POST (`handlePostRequest` of
 * `WebStandardStreamableHTTPServerTransport`, in its order, with its answers): `Accept` must list both
 * `application/json` and `text/event-stream` (406), `Content-Type` must be `application/json` (415),
 * the body one JSON-RPC request (400). Made before a process starts, so that a request the transport
 * refuses never costs one.
 */
export function checkInitialize(request: UpstreamRequest): InitializeCheck {
  if (request.method !== "POST" || request.body === undefined) return { kind: "none" };
  let message: unknown;
  try {
    message = JSON.parse(decodeUtf8(request.body));
  } catch {
    return { kind: "none" };
  }
  if ((message as { method?: unknown } | null)?.method !== "initialize") return { kind: "none" };
  const accept = headerValue(request.rawHeaders, "accept");
  if (!accept?.includes("application/json") || !accept.includes("text/event-stream")) {
    return refused(
      406,
      -32000,
      "Not Acceptable: Client must accept both application/json and text/event-stream",
    );
  }
  if (!isJsonContentType(headerValue(request.rawHeaders, "content-type"))) {
    return refused(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
  }
  if (!isJSONRPCRequest(message) || !isInitializeRequest(message)) {
    return refused(400, -32700, "Parse error: Invalid JSON-RPC message");
  }
  return { kind: "initialize", message };
}

/** The value of header `name` (lowercase), several joined with ", " as fetch's `Headers` does. */
export function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== name) continue;
    const next = rawHeaders[i + 1] as string;
    value = value === undefined ? next : `${value}, ${next}`;
  }
  return value;
}

/** A JSON-RPC error answer without an id, as the transport writes its refusals. */
export function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(errorAnswer("null", { code, message }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function refused(status: number, code: number, message: string): InitializeCheck {
  return { kind: "refused", response: jsonRpcError(status, code, message) };
}

/** The server's error answer to `initialize`, as a JSON answer of no session. */
export function refusedInitialize(answer: JSONRPCMessage): Response {
  return new Response(JSON.stringify(answer), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
}

/** What a request without a session that is not `initialize` gets from a process-per-session server. */
export function noSession(): Response {
  return jsonRpcError(400, -32000, "Bad Request: no session; send initialize first");
}
