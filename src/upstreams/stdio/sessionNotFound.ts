import { jsonRpcShape } from "../../jsonrpc/jsonRpc.ts";
import { batchErrorAnswer, errorAnswer } from "../../jsonrpc/jsonRpcAnswer.ts";
import type { UpstreamRequest } from "../Upstream.ts";

/**
 * What a stdio upstream answers for a session it does not have (ended — DELETE, idle, evicted, its
 * process gone — or started by another replica): 404, as MCP servers answer an unknown session, so
 * that the client starts a new one. The shape is the proxy's own 404's: a JSON-RPC error per request
 * id, each echoed as the client wrote it (an array for a batch), `-32001` with `data.reason:
 * "unknown_session"` and the upstream; the bare status for a notification; plain JSON otherwise.
 * The body is read for its ids on this path only.
 */
export function sessionNotFound(request: UpstreamRequest, upstream: string): Response {
  const shape = jsonRpcShape(request.method, request.body);
  const reason = "unknown_session";
  const error = { code: -32001, message: "Session not found", data: { reason, upstream } };
  let text: string;
  switch (shape.kind) {
    case "request":
      text = errorAnswer(shape.id, error);
      break;
    case "batch":
      text = batchErrorAnswer(shape.ids, error);
      break;
    case "notification":
      return new Response(null, { status: 404 });
    case "other":
      text = JSON.stringify({ error: "Session not found: start a new session", reason, upstream });
      break;
  }
  return new Response(text, { status: 404, headers: { "content-type": "application/json" } });
}
