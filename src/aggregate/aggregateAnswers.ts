import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  LATEST_PROTOCOL_VERSION,
  METHOD_NOT_FOUND,
  SERVER_INFO_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/core/internal";
import { errorAnswer, type JsonRpcError, resultAnswer } from "../jsonrpc/jsonRpcAnswer.ts";
import { firstModernVersion } from "../jsonrpc/protocolEra.ts";
import { toolUnavailableResult, type Unavailable } from "../mcp/mcpAnswers.ts";

/**
 * The answers the aggregate writes itself (SPEC §7.2): it is the MCP server its clients talk to, so
 * `initialize`, `server/discover`, `ping` and its own errors are Breakwater's. Every result to a
 * 2026-07-28 request carries `resultType: "complete"` (SPEC §8.1); an earlier-era one the earlier shape.
 */

let version: string | undefined;

/** `serverInfo`: Breakwater by name, at its package's version (as `--version` reads it). */
export function serverInfo(): { name: string; version: string } {
  version ??= (
    JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return { name: "breakwater", version };
}

/** The earlier-era version agreed with a client: its own when the SDK supports it, else the latest. */
export function negotiatedVersion(asked: unknown): string {
  return typeof asked === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(asked)
    ? asked
    : LATEST_PROTOCOL_VERSION;
}

/** The `initialize` result for `protocolVersion`, with the aggregate's capabilities. */
export function initializeResult(protocolVersion: string, capabilities: Record<string, unknown>): unknown {
  return { protocolVersion, capabilities, serverInfo: serverInfo() };
}

/** The `server/discover` result (MCP 2026-07-28, server/discover.mdx): every era it serves. */
export function discoverResult(capabilities: Record<string, unknown>): unknown {
  return {
    resultType: "complete",
    supportedVersions: [firstModernVersion, ...SUPPORTED_PROTOCOL_VERSIONS],
    capabilities,
    _meta: { [SERVER_INFO_META_KEY]: serverInfo() },
    ttlMs: 0,
    cacheScope: "public",
  };
}

/** An empty result (`ping`, `logging/setLevel`) in the request's era. */
export function emptyResult(modern: boolean): unknown {
  return modern ? { resultType: "complete" } : {};
}

/** A name or URI that no aggregated server's prefix starts (SPEC §7.2: -32602, nothing sent). */
export function unknownName(name: string): JsonRpcError {
  return {
    code: INVALID_PARAMS,
    message: `Unknown name ${JSON.stringify(name)}: it names no server of this endpoint`,
    data: { reason: "unknown_name", name },
  };
}

/** A routed call without the name or URI to route it by. */
export const noName: JsonRpcError = {
  code: INVALID_PARAMS,
  message: "Invalid params: the call names no tool, prompt or resource to route by",
  data: { reason: "no_name" },
};

/** A method the aggregate does not serve (`tasks/*`, and anything it does not know). */
export function methodNotFound(method: string): JsonRpcError {
  return {
    code: METHOD_NOT_FOUND,
    message: `Method not found: ${method}`,
    data: { reason: "method_not_found" },
  };
}

/** A body that is no single JSON-RPC message the aggregate can serve. */
export function invalidRequest(why: string, reason: string): JsonRpcError {
  return { code: INVALID_REQUEST, message: `Invalid request: ${why}`, data: { reason } };
}

/** A call of an earlier-era client without a session (the SDK server answers this the same way). */
export const noSession: JsonRpcError = {
  code: -32000,
  message: "Bad Request: no valid session: send initialize first",
  data: { reason: "no_session" },
};

/** An aggregate session token that opens no session (forged, other keys, ended): start a new one. */
export const unknownSession: JsonRpcError = {
  code: -32001,
  message: "Session not found",
  data: { reason: "unknown_session" },
};

/** What the server's requests get when the client cannot answer them (a 2026-07-28 client). */
export const cannotAnswer: JsonRpcError = {
  code: METHOD_NOT_FOUND,
  message: "Method not found: the client cannot answer server requests through the aggregate",
};

/** A non-tool call to a server that no upstream admits: the route's 503, as a JSON-RPC error. */
export function serverUnavailable(
  server: string,
  reason: string,
  retryAfterMs: number | undefined,
): JsonRpcError {
  return {
    code: -32603,
    message: "Upstream unavailable",
    data: { reason, server, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
  };
}

/** What a tool error says of the circuit that refused the call (`_meta["breakwater/circuit"]`). */
export interface AggregateRefusal extends Unavailable {
  readonly server: string;
}

/**
 * The model-readable answer to a `tools/call` whose server no upstream admits (SPEC §7.2, as §3.2's):
 * a 200 with a tool execution error naming the aggregate's tool, so the model can carry on with others.
 */
export function aggregateToolUnavailable(refusal: AggregateRefusal, modern: boolean): object {
  return toolUnavailableResult(refusal, modern, "its server is failing");
}

/** Writes a JSON-RPC result for `id` (its JSON text, byte for byte). */
export function sendResult(
  res: ServerResponse,
  id: string,
  result: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(res, 200, resultAnswer(id, result), headers);
}

/** Writes a JSON-RPC error for `id` with HTTP `status`. */
export function sendError(res: ServerResponse, status: number, id: string, error: JsonRpcError): void {
  sendJson(res, status, errorAnswer(id, error), {});
}

/** Writes a whole JSON answer already made (a merged list's). */
export function sendJson(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Readonly<Record<string, string>>,
): void {
  res
    .writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      "cache-control": "no-store",
    })
    .end(text);
}
