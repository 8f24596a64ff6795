import type { ServerResponse } from "node:http";
import { errorAnswer } from "../jsonrpc/jsonRpcAnswer.ts";
import { type Message, type ReadBody, withMessage } from "../jsonrpc/jsonRpcCall.ts";
import { aggregateToolUnavailable, sendJson, sendResult, serverUnavailable } from "./aggregateAnswers.ts";
import { namePaths } from "./CallRewrite.ts";
import type { Hop, NoHop } from "./contracts.ts";

/**
 * What the call router reads of a routed call (SPEC §7.2) before and besides sending it on: the name
 * or URI it names, what the pool reads of it once the prefix is off, and the answer when its server
 * can take it nowhere.
 */

/** A lone JSON-RPC call as the endpoint read it. */
export type CallRead = Extract<ReadBody, { kind: "call" }>;

/** The name or URI a routed call names, and whether it is a resource's. */
export function routedValue(
  method: string,
  message: Message,
): { value: string; resource: boolean } | undefined {
  const params = message.params as Readonly<Record<string, unknown>> | undefined;
  if (method === "completion/complete") {
    const ref = params?.["ref"] as { name?: unknown; uri?: unknown } | undefined;
    if (typeof ref?.name === "string") return { value: ref.name, resource: false };
    if (typeof ref?.uri === "string") return { value: ref.uri, resource: true };
    return undefined;
  }
  const resource = method.startsWith("resources/");
  const value = params?.[resource ? "uri" : "name"];
  return typeof value === "string" ? { value, resource } : undefined;
}

/**
 * What the pool reads of the call `hop` sends, from the client's body as the endpoint read it: the
 * same message with `bare` at its routed paths (where `bareBody` splices it). Undefined (the pool
 * parses the changed body itself) when the hop changes more than that: a `_meta` envelope or a claim.
 */
export function rereadOf(read: CallRead, method: string, bare: string, hop: Hop): ReadBody | undefined {
  if (hop.metaEnvelope !== undefined || hop.addsResultType) return undefined;
  const message = read.messages[0] as Message;
  let params = message.params as Readonly<Record<string, unknown>>;
  for (const path of namePaths.get(method) ?? []) params = withString(params, path, 1, bare);
  return withMessage(read, { ...message, params } as Message);
}

/**
 * `value` with the string at `path` from `depth` on (if a string is there) replaced by `text`: copied
 * where changed, the same object where not.
 */
function withString(
  value: Readonly<Record<string, unknown>>,
  path: readonly string[],
  depth: number,
  text: string,
): Readonly<Record<string, unknown>> {
  const key = path[depth] as string;
  const inner = value[key];
  if (depth === path.length - 1) return typeof inner === "string" ? { ...value, [key]: text } : value;
  if (typeof inner !== "object" || inner === null || Array.isArray(inner)) return value;
  const changed = withString(inner as Readonly<Record<string, unknown>>, path, depth + 1, text);
  return changed === inner ? value : { ...value, [key]: changed };
}

/** No upstream of `server` can take the call now: a tool result the model can read, else a 503. */
export function sendUnavailable(
  res: ServerResponse,
  idText: string,
  method: string,
  name: string,
  server: string,
  hop: NoHop,
  modern: boolean,
): void {
  const retryAfterMs = hop.retryAfterMs;
  if (method === "tools/call") {
    const state = hop.reason === "circuit_open" ? "open" : "session_failed";
    const refusal = { server, tool: name, state, retryAfterMs: retryAfterMs ?? 0 };
    sendResult(res, idText, aggregateToolUnavailable(refusal, modern));
    return;
  }
  const headers: Record<string, string> =
    retryAfterMs === undefined ? {} : { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1_000))) };
  sendJson(res, 503, errorAnswer(idText, serverUnavailable(server, hop.reason, retryAfterMs)), headers);
}
