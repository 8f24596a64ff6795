import type { FailureCause } from "../judges/failureCause.ts";
import type { UpstreamFailureAnswer } from "../proxy/proxyAnswers.ts";

/**
 * The attribute names of the OpenTelemetry MCP semantic conventions (`semantic-conventions-genai`,
 * `model/mcp/*`, status Development) and Breakwater's own, written out here rather than imported from
 * the incubating entry of `@opentelemetry/semantic-conventions`, which may rename them in any minor
 * release (its own advice).
 */
export const attr = {
  methodName: "mcp.method.name",
  protocolVersion: "mcp.protocol.version",
  sessionId: "mcp.session.id",
  resourceUri: "mcp.resource.uri",
  toolName: "gen_ai.tool.name",
  promptName: "gen_ai.prompt.name",
  operationName: "gen_ai.operation.name",
  requestId: "jsonrpc.request.id",
  responseStatusCode: "rpc.response.status_code",
  errorType: "error.type",
  clientAddress: "client.address",
  clientPort: "client.port",
  serverAddress: "server.address",
  serverPort: "server.port",
  networkTransport: "network.transport",
  networkProtocolName: "network.protocol.name",
  httpStatusCode: "http.response.status_code",
  server: "breakwater.server",
  upstream: "breakwater.upstream",
  circuitState: "breakwater.circuit.state",
  retryAfterMs: "breakwater.retry_after_ms",
} as const;

/** `gen_ai.operation.name` of a tool call. */
export const executeTool = "execute_tool";

/**
 * The conventions' bucket boundaries (seconds) of `mcp.server.operation.duration` and
 * `mcp.client.operation.duration`.
 */
export const durationBuckets: readonly number[] = [
  0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300,
];

/**
 * `error.type` of a failure the upstream was charged with, from its cause: `timeout` for a head or an
 * answer that did not come in time, the status or JSON-RPC code as text, `tool_error`; a socket error
 * code or a process's end (`ECONNRESET`, `exit 3`) as it is.
 */
export function causeErrorType(cause: FailureCause): string {
  if (cause === "answer_timeout") return "timeout";
  if (cause === "is_error") return "tool_error";
  if (cause.startsWith("status ") || cause.startsWith("jsonrpc ")) return cause.slice(cause.indexOf(" ") + 1);
  return cause;
}

/** `error.type` of an answer the proxy made for an upstream: its reason (`circuit_open`, `timeout`…). */
export function answerErrorType(answer: UpstreamFailureAnswer): string {
  return answer.reason;
}

/** The JSON-RPC code the proxy's own answer carries (see `sendUpstreamFailure`): -32001 session gone. */
export function answerCode(answer: UpstreamFailureAnswer): string {
  return answer.status === 404 ? "-32001" : "-32603";
}
