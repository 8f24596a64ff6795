import {
  applySplices,
  isEmptyObject,
  type JsonPath,
  type Splice,
  stringAt,
  valuesAt,
} from "../jsonrpc/jsonPaths.ts";
import { decodeUtf8 } from "../jsonrpc/jsonRpc.ts";
import type { AggregateLists, ListKind } from "./contracts.ts";
import { serverRequestId } from "./serverRequestIds.ts";

/** What the rewriting of one server's messages needs to know of the call they answer. */
export interface AnswerContext {
  /** The server that answers: the prefix of its URIs and of its requests' ids. */
  readonly server: string;
  readonly lists: Pick<AggregateLists, "prefixUri" | "serverSaidChanged">;
  /** A 2026-07-28 client answered by an earlier-era server: results get `resultType: "complete"`. */
  readonly addsResultType: boolean;
  /**
   * Whether the client takes the server's requests (an earlier-era client: relayed with ids made
   * unique per server); else each is dropped and given to `refuseServerRequest` (its id's JSON text).
   */
  readonly relaysServerRequests: boolean;
  readonly refuseServerRequest: (idText: string) => void;
}

/**
 * Where a result holds resource URIs the client must be able to read back through the aggregate:
 * `resource_link` blocks and embedded resources of tool results and prompt messages, and the contents
 * of `resources/read`.
 */
const uriPaths: readonly JsonPath[] = [
  ["result", "content", "*", "uri"],
  ["result", "content", "*", "resource", "uri"],
  ["result", "contents", "*", "uri"],
  ["result", "messages", "*", "content", "uri"],
  ["result", "messages", "*", "content", "resource", "uri"],
];
const resultPaths: readonly JsonPath[] = [...uriPaths, ["result"]];
const idPaths: readonly JsonPath[] = [["id"]];
const updatedPaths: readonly JsonPath[] = [["params", "uri"]];
const cancelledPaths: readonly JsonPath[] = [["params", "requestId"]];

/** The kinds a server's `notifications/<kind>/list_changed` says changed (templates are resources to MCP). */
const changedKinds: ReadonlyMap<string, readonly ListKind[]> = new Map([
  ["notifications/tools/list_changed", ["tools"]],
  ["notifications/prompts/list_changed", ["prompts"]],
  ["notifications/resources/list_changed", ["resources", "resourceTemplates"]],
]);

/** A message as the client gets it: new bytes, `unchanged` (its own bytes), or `dropped`. */
export type Rewritten = Buffer | "unchanged" | "dropped";

/**
 * One JSON-RPC message of a server, as the aggregate's client gets it (SPEC §7.2): resource URIs
 * prefixed, `resultType` added where the client's revision needs it, the server's own list changes
 * kept from the client (the aggregate tells its own), its requests relayed under unique ids or
 * refused. A message without `"uri"`, `"method"` and no `resultType` to add is not parsed at all.
 */
export function rewriteMessage(bytes: Buffer, context: AnswerContext): Rewritten {
  if (!context.addsResultType && !holdsUriOrMethod(bytes)) return "unchanged";
  let message: unknown;
  try {
    message = JSON.parse(decodeUtf8(bytes));
  } catch {
    return "unchanged";
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) return "unchanged";
  const { method, result } = message as { method?: unknown; result?: unknown };
  if (typeof method === "string")
    return serverMessage(bytes, message as Record<string, unknown>, method, context);
  if (typeof result !== "object" || result === null) return "unchanged";
  const splices: Splice[] = [];
  for (const at of valuesAt(bytes, resultPaths)) {
    if (at.path < uriPaths.length) {
      const uri = stringAt(bytes, at);
      if (uri !== undefined) splices.push(prefixed(at, context.lists.prefixUri(context.server, uri)));
    } else if (context.addsResultType && !("resultType" in result) && bytes[at.start] === 0x7b) {
      const member = '"resultType":"complete"';
      const text = isEmptyObject(bytes, at.start) ? member : `${member},`;
      splices.push({ start: at.start + 1, end: at.start + 1, text });
    }
  }
  return splices.length === 0 ? "unchanged" : applySplices(bytes, splices);
}

/** A message the server sent of its own: a request, or a notification. */
function serverMessage(
  bytes: Buffer,
  message: Record<string, unknown>,
  method: string,
  context: AnswerContext,
): Rewritten {
  const id = message["id"];
  if (typeof id === "string" || typeof id === "number") {
    const at = valuesAt(bytes, idPaths).at(-1);
    if (at === undefined) return "unchanged";
    const idText = bytes.toString("utf8", at.start, at.end);
    if (!context.relaysServerRequests) {
      context.refuseServerRequest(idText);
      return "dropped";
    }
    return applySplices(bytes, [prefixed(at, serverRequestId(context.server, idText))]);
  }
  const kinds = changedKinds.get(method);
  if (kinds !== undefined) {
    for (const kind of kinds) context.lists.serverSaidChanged(context.server, kind);
    return "dropped";
  }
  if (method === "notifications/cancelled") return cancelled(bytes, context);
  if (method !== "notifications/resources/updated") return "unchanged";
  const splices: Splice[] = [];
  for (const at of valuesAt(bytes, updatedPaths)) {
    const uri = stringAt(bytes, at);
    if (uri !== undefined) splices.push(prefixed(at, context.lists.prefixUri(context.server, uri)));
  }
  return splices.length === 0 ? "unchanged" : applySplices(bytes, splices);
}

/**
 * A server cancels a request of its own (MCP cancellation): the earlier-era client knows that request by
 * the id the aggregate gave it; a modern client never got it (it was refused), so hears nothing of it.
 */
function cancelled(bytes: Buffer, context: AnswerContext): Rewritten {
  if (!context.relaysServerRequests) return "dropped";
  const splices: Splice[] = [];
  for (const at of valuesAt(bytes, cancelledPaths)) {
    const first = bytes[at.start] as number;
    // a JSON-RPC id: a string, or a number (`-` or a digit first)
    if (first === 0x22 || first === 0x2d || (first >= 0x30 && first <= 0x39)) {
      const idText = bytes.toString("utf8", at.start, at.end);
      splices.push(prefixed(at, serverRequestId(context.server, idText)));
    }
  }
  return splices.length === 0 ? "unchanged" : applySplices(bytes, splices);
}

function prefixed(at: { start: number; end: number }, value: string): Splice {
  return { start: at.start, end: at.end, text: JSON.stringify(value) };
}

/**
 * Whether `bytes` hold `"uri"` or `"method"` (as a key or as a string): one pass over the bytes, which
 * for an answer of a few hundred bytes costs about a quarter of two native searches (each sets up a
 * search of its own).
 */
function holdsUriOrMethod(bytes: Buffer): boolean {
  const last = bytes.length - 4;
  for (let i = 0; i < last; i++) {
    if (bytes[i] !== 0x22) continue;
    const next = bytes[i + 1];
    if (next === 0x75 && bytes[i + 2] === 0x72 && bytes[i + 3] === 0x69 && bytes[i + 4] === 0x22) return true;
    if (next === 0x6d && bytes.toString("latin1", i, i + 8) === '"method"') return true;
  }
  return false;
}
