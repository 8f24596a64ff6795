import {
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListToolsResultSchema,
} from "@modelcontextprotocol/core/internal";
import { maxToolListBytes } from "../mcp/ToolListJudge.ts";
import type { ListKind } from "./contracts.ts";
import type { OwnAnswer, ServerContact } from "./ServerContact.ts";

/** Per kind: its method, the capability a server advertises it with, the SDK's schema of its result. */
const listing = {
  tools: { method: "tools/list", capability: "tools", schema: ListToolsResultSchema },
  prompts: { method: "prompts/list", capability: "prompts", schema: ListPromptsResultSchema },
  resources: { method: "resources/list", capability: "resources", schema: ListResourcesResultSchema },
  resourceTemplates: {
    method: "resources/templates/list",
    capability: "resources",
    schema: ListResourceTemplatesResultSchema,
  },
} as const;

/** Pages followed per list, and items kept per list: what one server may make Breakwater hold. */
const maxPages = 100;
const maxItems = 10_000;
/**
 * The most a list's items may weigh, all pages together (JSON characters): a route's bound on one
 * `tools/list` answer. Pages and items alone bound nothing (100 pages of one 8 MiB item each), and a
 * list past ~512 MiB is more than `JSON.stringify` can make: the proxy would throw while storing it.
 */
const maxListChars = maxToolListBytes;
/** How long a fetch may take (a client waits `list_timeout_ms` at most; a late answer still counts). */
const lateAnswerMs = 30_000;
/** JSON-RPC "method not found": a server without that list lists nothing. */
const methodNotFound = -32601;

/** How fetching one server's list ended. */
export type FetchOutcome =
  | {
      readonly kind: "list";
      /** The items as the server sent them (the schema checked them; unknown fields kept). */
      readonly items: readonly Record<string, unknown>[];
      readonly ttlMs: number | undefined;
      readonly cacheScope?: unknown;
    }
  | { readonly kind: "unauthorized"; readonly status: number }
  | { readonly kind: "failed"; readonly reason: string; readonly retryAfterMs?: number | undefined };

/**
 * Fetches a server's whole list of `kind`: every page, each checked with the SDK's schema of that list.
 * A server that does not advertise the capability, or answers -32601, lists nothing (it is no failure).
 */
export async function fetchList(contact: ServerContact, kind: ListKind): Promise<FetchOutcome> {
  const reached = await contact.contact(lateAnswerMs);
  if (!("era" in reached)) return asFailure(reached);
  const { method, capability, schema } = listing[kind];
  if (reached.capabilities[capability] === undefined) return { kind: "list", items: [], ttlMs: undefined };
  const items: Record<string, unknown>[] = [];
  let first: Record<string, unknown> | undefined;
  let cursor: string | undefined;
  let chars = 0;
  for (let page = 0; page < maxPages; page++) {
    const params = cursor === undefined ? {} : { cursor };
    const answer = await contact.ask(method, params, { timeoutMs: lateAnswerMs });
    if (answer.kind === "error" && answer.code === methodNotFound && page === 0)
      return { kind: "list", items: [], ttlMs: undefined };
    if (answer.kind !== "result") return asFailure(answer);
    if (!schema.safeParse(answer.result).success)
      return { kind: "failed", reason: `${method}: the result is not a valid list` };
    first ??= answer.result;
    const pageItems = answer.result[kind];
    // what this page adds to what Breakwater holds; lists are fetched seldom, never on a client's path
    chars += Array.isArray(pageItems) ? JSON.stringify(pageItems).length : 0;
    if (chars > maxListChars)
      return { kind: "failed", reason: `${method}: the list is larger than ${maxListChars} characters` };
    if (Array.isArray(pageItems)) items.push(...(pageItems as Record<string, unknown>[]).slice(0, maxItems));
    if (items.length > maxItems) items.length = maxItems;
    const next = answer.result["nextCursor"];
    if (typeof next !== "string" || items.length >= maxItems) break;
    cursor = next;
  }
  const ttlMs = first?.["ttlMs"];
  return {
    kind: "list",
    items,
    ttlMs: typeof ttlMs === "number" && ttlMs >= 0 ? ttlMs : undefined,
    cacheScope: first?.["cacheScope"],
  };
}

function asFailure(answer: OwnAnswer): FetchOutcome {
  if (answer.kind === "unauthorized") return answer;
  if (answer.kind === "unavailable")
    return { kind: "failed", reason: answer.reason, retryAfterMs: answer.retryAfterMs };
  if (answer.kind === "error") return { kind: "failed", reason: `error ${answer.code}: ${answer.message}` };
  return { kind: "failed", reason: "unexpected result" };
}
