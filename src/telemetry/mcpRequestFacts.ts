import type { IncomingHttpHeaders } from "node:http";
import { type JsonRpcBody, readJsonRpcMessages } from "../jsonrpc/jsonRpc.ts";
import { modernClaim } from "../jsonrpc/protocolEra.ts";

/**
 * What a span records of one MCP request (SPEC §9), read from its body with one `JSON.parse` — paid
 * only while telemetry is on. Names follow the OpenTelemetry MCP semantic conventions
 * (open-telemetry/semantic-conventions-genai, model/mcp/spans.yaml and docs/gen-ai/mcp.md, status
 * Development).
 */

/** One JSON-RPC request or notification, as its spans name and describe it. */
export interface McpRequestFacts {
  /** `mcp.method.name`. */
  readonly method: string;
  /**
   * `jsonrpc.request.id`: a string id as the string, a number as the client wrote it (an id beyond
   * 2^53 keeps its digits); undefined for a notification, and for a null id (the conventions: not
   * captured when the id is null or omitted).
   */
  readonly requestId: string | undefined;
  /** `gen_ai.tool.name`: `params.name` of a `tools/call`. */
  readonly toolName: string | undefined;
  /** `gen_ai.prompt.name`: `params.name` of a `prompts/get`. */
  readonly promptName: string | undefined;
  /** `mcp.resource.uri`: `params.uri` of the methods the conventions list. */
  readonly resourceUri: string | undefined;
  /**
   * `mcp.protocol.version`: the 2026-07-28 era's claim in `params._meta` (protocolEra.ts), else the
   * `MCP-Protocol-Version` header of the earlier era.
   */
  readonly protocolVersion: string | undefined;
  /** `params._meta.traceparent`, when a string: the MCP convention's trace context, the span's parent. */
  readonly traceparent: string | undefined;
  /** `params._meta.tracestate`, when a string. */
  readonly tracestate: string | undefined;
  /**
   * Where the body has no `_meta` for a trace context to go into: it has no `params` member, or its
   * `params` is an object without `_meta` (as JSON.parse read them); undefined otherwise. Lets
   * metaContext.ts splice without walking the body.
   */
  readonly metaAbsent: "no params" | "no _meta" | undefined;
}

/** Headers as node gives them: parsed, or raw (`[name, value, …]`). */
export type RequestHeaders = IncomingHttpHeaders | readonly string[];

/**
 * The methods whose `params.uri` is `mcp.resource.uri` (the conventions' note on the attribute; the
 * last is the server's, never in a client's POST, kept for the list's sake).
 */
const resourceMethods = new Set([
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "notifications/resources/updated",
]);

type Json = Readonly<Record<string, unknown>>;

/**
 * The facts of `body` when it holds one JSON-RPC 2.0 request or notification; undefined for anything
 * else (a batch, a response, not JSON, not JSON-RPC 2.0). `headers` supply `MCP-Protocol-Version`
 * when the body claims no version.
 */
export function mcpRequestFacts(body: Buffer, headers?: RequestHeaders): McpRequestFacts | undefined {
  return factsOf(readJsonRpcMessages(body), headers);
}

/** The facts of a body whose messages have been read (`read`), as `mcpRequestFacts` tells them. */
export function factsOf(read: JsonRpcBody, headers?: RequestHeaders): McpRequestFacts | undefined {
  if (read.kind !== "messages" || read.batch) return undefined;
  const message = read.messages[0];
  const method = message?.value.method;
  if (message === undefined || typeof method !== "string") return undefined;
  const hasParams = Object.hasOwn(message.value, "params");
  const params = objectOr(message.value.params);
  const meta = objectOr(params?.["_meta"]);
  const id = (message.value as { id?: unknown }).id;
  return {
    method,
    // a number's text as written: String(id) would round an id beyond 2^53
    requestId: typeof id === "string" ? id : typeof id === "number" ? message.id : undefined,
    toolName: method === "tools/call" ? stringOr(params?.["name"]) : undefined,
    promptName: method === "prompts/get" ? stringOr(params?.["name"]) : undefined,
    resourceUri: resourceMethods.has(method) ? stringOr(params?.["uri"]) : undefined,
    protocolVersion: modernClaim(message.value as Json) ?? soleHeader(headers, "mcp-protocol-version"),
    traceparent: stringOr(meta?.["traceparent"]),
    tracestate: stringOr(meta?.["tracestate"]),
    metaAbsent: !hasParams
      ? "no params"
      : params !== undefined && !Object.hasOwn(params, "_meta")
        ? "no _meta"
        : undefined,
  };
}

/**
 * The name of a request's spans, `{mcp.method.name} {target}`: the target is the tool or prompt name
 * where one applies, else the name is the method alone (SPEC §9). The conventions let an
 * instrumentation offer `mcp.resource.uri` as the target by opt-in only, never by default (a URI per
 * resource makes span names of unbounded cardinality); SPEC §9 offers no such option, so a resource's
 * spans are named by their method.
 */
export function spanName(facts: Pick<McpRequestFacts, "method" | "toolName" | "promptName">): string {
  const target = facts.toolName ?? facts.promptName;
  const name = target ? `${facts.method} ${target}` : facts.method;
  // what a client writes is unbounded; a name is no place for a megabyte (attributes are cut by the SDK)
  return name.length > maxSpanName ? `${name.slice(0, maxSpanName)}…` : name;
}

/** The longest span name kept whole: a method and a tool name of SEP-986's 64 characters fit. */
const maxSpanName = 128;

/** The value of header `name` (lower case) when it was sent once; undefined when absent or repeated. */
function soleHeader(headers: RequestHeaders | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (isRaw(headers)) {
    const values = headers.filter((_, i) => i % 2 === 1 && headers[i - 1]?.toLowerCase() === name);
    return values.length === 1 ? values[0] : undefined;
  }
  const value = headers[name];
  // node joins a repeated header with ", "; a protocol version (a date) holds no comma
  return typeof value === "string" && !value.includes(",") ? value : undefined;
}

function isRaw(headers: RequestHeaders): headers is readonly string[] {
  return Array.isArray(headers);
}

function objectOr(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
