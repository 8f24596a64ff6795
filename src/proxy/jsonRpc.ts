/** What a request body says about JSON-RPC, for the proxy's own error answers. */
export type JsonRpcShape =
  | { readonly kind: "request"; readonly id: JsonRpcId }
  | { readonly kind: "batch"; readonly ids: readonly JsonRpcId[] }
  | { readonly kind: "notification" }
  | { readonly kind: "other" };

export type JsonRpcId = string | number | null;

/** One decoder for every body: made once (a decoder per request costs more than the parse). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a body as UTF-8, throwing on invalid bytes. */
export function decodeUtf8(body: Buffer): string {
  return utf8.decode(body);
}

/**
 * Reads the JSON-RPC ids out of a request body. Only the proxy's own answers (503, 502, 504, 404 for a
 * lost session) need this, so the success path never parses a body. Anything that is not a JSON-RPC
 * 2.0 request — invalid UTF-8 or JSON, a truncated body, another shape — is "other".
 */
export function jsonRpcShape(method: string, body: Buffer | undefined): JsonRpcShape {
  if (method !== "POST" || body === undefined || body.length === 0) return { kind: "other" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch {
    return { kind: "other" };
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0 || !parsed.every(isJsonRpcMessage)) return { kind: "other" };
    const ids = parsed.filter(hasId).map((message) => message.id);
    return ids.length === 0 ? { kind: "notification" } : { kind: "batch", ids };
  }
  if (!isJsonRpcMessage(parsed)) return { kind: "other" };
  return hasId(parsed) ? { kind: "request", id: parsed.id } : { kind: "notification" };
}

type JsonRpcMessage = { jsonrpc: "2.0"; method: string; id?: unknown };

function isJsonRpcMessage(value: unknown): value is JsonRpcMessage {
  if (typeof value !== "object" || value === null) return false;
  const message = value as Record<string, unknown>;
  return message["jsonrpc"] === "2.0" && typeof message["method"] === "string";
}

function hasId(message: JsonRpcMessage): message is JsonRpcMessage & { id: JsonRpcId } {
  const id = message.id;
  return typeof id === "string" || typeof id === "number" || id === null;
}
