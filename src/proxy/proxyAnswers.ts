import type { ServerResponse } from "node:http";
import type { CircuitState } from "../breaker/CircuitState.ts";
import type { EdgeRefusal } from "../edge/EdgeGuard.ts";
import type { JsonRpcShape } from "../jsonrpc/jsonRpc.ts";
import { batchErrorAnswer, errorAnswer, type JsonRpcError } from "../jsonrpc/jsonRpcAnswer.ts";

/** Why the proxy answered itself instead of passing on an upstream's response. */
export type ProxyFailureReason =
  | "circuit_open"
  | "overloaded"
  | "connect_failed"
  | "timeout"
  | "proxy_resources"
  | "session_lost";

/** An answer the proxy makes on an upstream's behalf (SPEC §2, "the fallback"). */
export interface UpstreamFailureAnswer {
  /** 503 no upstream admits; 502 connect failed; 504 timed out; 404 the session's upstream is open. */
  readonly status: 503 | 502 | 504 | 404;
  readonly reason: ProxyFailureReason;
  readonly upstream: string;
  /** When the upstream may admit again (503 and 404). */
  readonly retryAfterMs?: number;
  /** The state of the circuit that refused it, for `circuit_open` (for traces, SPEC §9). */
  readonly circuitState?: CircuitState;
}

const plainMessages = {
  503: "Service temporarily unavailable",
  502: "Bad gateway: could not connect to the upstream",
  504: "Gateway timeout: the upstream sent no response in time",
  404: "Session not found: its upstream is unavailable; start a new session",
} as const;

/**
 * Writes `answer` in the shape the request calls for: a JSON-RPC error per request id (an array for a
 * batch), the bare status for a notification, or the plain JSON object otherwise.
 */
export function sendUpstreamFailure(
  res: ServerResponse,
  answer: UpstreamFailureAnswer,
  shape: JsonRpcShape,
): void {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (answer.status === 503 && answer.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(answer.retryAfterMs / 1_000)));
  }
  const sessionLost = answer.status === 404;
  const error = {
    // -32001 is what MCP servers answer for an unknown session; -32603 is JSON-RPC's internal error
    code: sessionLost ? -32001 : -32603,
    message: sessionLost ? "Session not found" : "Upstream unavailable",
    data: {
      reason: answer.reason,
      upstream: answer.upstream,
      ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
    },
  };
  let body: string | undefined;
  switch (shape.kind) {
    case "request":
    case "batch":
    case "notification":
      body = jsonRpcErrors(shape, error);
      break;
    case "other":
      body = JSON.stringify({
        error: plainMessages[answer.status],
        upstream: answer.upstream,
        ...(answer.status === 503
          ? {
              retry_after: Number(headers["retry-after"] ?? 1),
              ...(answer.reason === "circuit_open" ? {} : { reason: answer.reason }),
            }
          : { reason: answer.reason }),
      });
      break;
  }
  sendJson(res, answer.status, body, headers);
}

/**
 * `error` as a JSON-RPC error per request id of `shape` (an array for a batch; nothing for a
 * notification), each id echoed exactly as the client wrote it (`shape` holds their JSON texts).
 */
function jsonRpcErrors(shape: JsonRpcShape, error: JsonRpcError): string | undefined {
  if (shape.kind === "request") return errorAnswer(shape.id, error);
  if (shape.kind === "batch") return batchErrorAnswer(shape.ids, error);
  return undefined;
}

/**
 * The answer to a session token that names no session of this proxy (SPEC §6.1): forged, another
 * fleet's, a retired key's, a removed upstream's. 404, as MCP servers answer an unknown session, so
 * that the client starts a new one.
 */
export function sendSessionUnknown(res: ServerResponse, shape: JsonRpcShape): void {
  const error = { code: -32001, message: "Session not found", data: { reason: "unknown_session" } };
  const plain = { error: "Session not found: start a new session", reason: "unknown_session" };
  sendErrors(res, 404, shape, error, plain, { "cache-control": "no-store" });
}

/**
 * The edge's 403 (SPEC §4.1): a JSON-RPC error per request id (the code the MCP SDK's own DNS
 * rebinding protection answers), the bare status for a notification, or plain JSON otherwise.
 */
export function sendForbidden(res: ServerResponse, reason: EdgeRefusal, shape: JsonRpcShape): void {
  const message =
    reason === "forbidden_host" ? "Forbidden: Host not allowed" : "Forbidden: Origin not allowed";
  const error = { code: -32000, message, data: { reason } };
  sendErrors(
    res,
    403,
    shape,
    error,
    { error: message, reason },
    { "cache-control": "no-store", connection: "close" },
  );
}

/** `error` as a JSON-RPC error per request id of `shape` (the bare status for a notification), else `plain`. */
function sendErrors(
  res: ServerResponse,
  status: number,
  shape: JsonRpcShape,
  error: JsonRpcError,
  plain: unknown,
  headers: Record<string, string>,
): void {
  const body = shape.kind === "other" ? JSON.stringify(plain) : jsonRpcErrors(shape, error);
  sendJson(res, status, body, headers);
}

/** A plain JSON error of the proxy itself (400, 404 outside the route, 413). */
export function sendClientError(res: ServerResponse, status: number, error: string, close = false): void {
  sendJson(res, status, JSON.stringify({ error }), close ? { connection: "close" } : {});
}

/** Writes `text` (JSON), or the bare status when it is undefined. */
function sendJson(
  res: ServerResponse,
  status: number,
  text: string | undefined,
  headers: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (text === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res
    .writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
    })
    .end(text);
}
