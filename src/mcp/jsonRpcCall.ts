import { jsonRpcShape } from "../proxy/jsonRpc.ts";
import type { UpstreamRequest } from "../proxy/Upstream.ts";

/**
 * The ids of a JSON-RPC call (a POST whose body is a request with an id, or a batch holding one), as
 * JSON text; undefined for anything else — notifications, responses a client sends, other requests —
 * which are judged as SPEC §2 says.
 */
export function callIds(request: UpstreamRequest): string[] | undefined {
  if (request.method !== "POST" || request.body === undefined) return undefined;
  const shape = jsonRpcShape(request.method, request.body);
  if (shape.kind === "request") return [JSON.stringify(shape.id)];
  if (shape.kind === "batch") return shape.ids.map((id) => JSON.stringify(id));
  return undefined;
}
