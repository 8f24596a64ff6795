import type { IncomingHttpHeaders } from "node:http";
import { decodeUtf8 } from "../proxy/jsonRpc.ts";

/** A JSON-RPC call (SPEC §3.1): what the proxy needs of it to judge its answer and guard its tool. */
export interface JsonRpcCall {
  /** The call's request ids, as JSON text (`1`, `"a"`). */
  readonly ids: readonly string[];
  /** The `params._meta.progressToken`s of its requests, as JSON text: their progress restarts the wait. */
  readonly progressTokens: ReadonlySet<string>;
  /** The tool a lone `tools/call` names (`params.name`); undefined for anything else, batches included. */
  readonly tool: string | undefined;
}

/** What a POST body holds, for the proxy: a call, a message it need not judge, or no JSON-RPC at all. */
export type ReadBody =
  | { readonly kind: "call"; readonly call: JsonRpcCall; readonly message: Message | undefined }
  | { readonly kind: "message"; readonly message: Message | undefined }
  | { readonly kind: "other" };

interface Message {
  readonly jsonrpc: "2.0";
  readonly method?: unknown;
  readonly id?: unknown;
  readonly params?: {
    readonly name?: unknown;
    readonly uri?: unknown;
    readonly _meta?: { progressToken?: unknown };
  };
}

const other: ReadBody = { kind: "other" };
/** The progress tokens of a call that has none (most): one set for all. */
const noTokens: ReadonlySet<string> = new Set();

/**
 * Reads a POST body once: a request with an id (or a batch holding one) is a call; notifications and
 * the responses a client sends are messages (`message` is the lone one, for the header check). Bodies
 * that are not JSON-RPC 2.0 are "other", judged as SPEC §2 says.
 */
export function readJsonRpcBody(body: Buffer): ReadBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(body));
  } catch {
    return other;
  }
  if (!Array.isArray(parsed)) {
    if (!isMessage(parsed)) return other;
    if (typeof parsed.method !== "string" || !isId(parsed.id)) return { kind: "message", message: parsed };
    const token = progressToken(parsed);
    const name = parsed.params?.name;
    const call: JsonRpcCall = {
      ids: [JSON.stringify(parsed.id)],
      progressTokens: token === undefined ? noTokens : new Set([token]),
      tool: parsed.method === "tools/call" && typeof name === "string" ? name : undefined,
    };
    return { kind: "call", call, message: parsed };
  }
  if (parsed.length === 0 || !parsed.every(isMessage)) return other;
  const ids: string[] = [];
  const progressTokens = new Set<string>();
  for (const message of parsed as Message[]) {
    if (typeof message.method !== "string" || !isId(message.id)) continue;
    ids.push(JSON.stringify(message.id));
    const token = progressToken(message);
    if (token !== undefined) progressTokens.add(token);
  }
  // a batch is guarded by its upstream's circuit alone, and has no routing headers to check
  return ids.length === 0
    ? { kind: "message", message: undefined }
    : { kind: "call", call: { ids, progressTokens, tool: undefined }, message: undefined };
}

/** A request's `params._meta.progressToken`, as JSON text. */
function progressToken(message: Message): string | undefined {
  const token = message.params?._meta?.progressToken;
  return typeof token === "string" || typeof token === "number" ? JSON.stringify(token) : undefined;
}

/**
 * Whether the MCP routing headers (`Mcp-Method`, `Mcp-Name`; MCP 2026-07-28) disagree with the body
 * they mirror: a middle box that routes or guards by them must not be told one thing while the server
 * does another. Absent headers are not checked (older clients send none). A value may be sent as
 * `=?base64?…?=` when it is not plain ASCII.
 */
export function headersDisagree(
  headers: IncomingHttpHeaders,
  message: Message | undefined,
): string | undefined {
  const method = headers["mcp-method"];
  const name = headers["mcp-name"];
  if (method === undefined && name === undefined) return undefined;
  if (message === undefined) return undefined; // a batch: 2026-07-28 has none, older revisions no such headers
  if (typeof method === "string" && decodeHeader(method) !== message.method)
    return "Mcp-Method does not match the body's method";
  if (typeof name === "string") {
    // resources are named by their URI (resources/read, /subscribe, /unsubscribe), the rest by name
    const named = String(message.method).startsWith("resources/")
      ? message.params?.uri
      : message.params?.name;
    if (decodeHeader(name) !== named) return "Mcp-Name does not match the body";
  }
  return undefined;
}

const base64Value = /^=\?base64\?(.*)\?=$/i;

function decodeHeader(value: string): string {
  const encoded = base64Value.exec(value.trim());
  return encoded === null ? value.trim() : Buffer.from(encoded[1] as string, "base64").toString("utf8");
}

function isMessage(value: unknown): value is Message {
  return typeof value === "object" && value !== null && (value as Message).jsonrpc === "2.0";
}

function isId(id: unknown): boolean {
  return typeof id === "string" || typeof id === "number" || id === null;
}
