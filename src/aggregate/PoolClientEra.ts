import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  DiscoverResultSchema,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/core/internal";
import type { CheckResponse } from "../health/checkAnswer.ts";
import { discoverEra, modernRevision } from "../health/discoverEra.ts";
import { isModernVersion } from "../upstreams/stdio/modern/modernEra.ts";
import type { PoolAnswer, UpstreamEra } from "./contracts.ts";

/**
 * The `server/discover` Breakwater asks an upstream its era with (MCP 2026-07-28, the backward
 * compatibility probe): the request's `_meta` envelope, and its version and method as headers too.
 */
export const discoverMessage: Record<string, unknown> = {
  jsonrpc: "2.0",
  id: "breakwater-discover",
  method: "server/discover",
  params: {
    _meta: {
      [PROTOCOL_VERSION_META_KEY]: modernRevision,
      [CLIENT_INFO_META_KEY]: { name: "breakwater-aggregate", version: "1" },
      [CLIENT_CAPABILITIES_META_KEY]: {},
    },
  },
};

export const discoverHeaders: Readonly<Record<string, string>> = {
  "MCP-Protocol-Version": modernRevision,
  "Mcp-Method": "server/discover",
};

/**
 * The era an answer to {@link discoverMessage} shows, as the health checks read it (`discoverEra`:
 * -32601, or a 400 or 404, is an earlier-era server's); a modern answer is "dual" when its
 * `supportedVersions` lists an earlier revision too (the server also serves `initialize`). Undefined
 * when it does not tell (refused, a 5xx, a timeout): asked again next time.
 */
export function eraOfAnswer(answer: PoolAnswer): UpstreamEra | undefined {
  if (answer.kind === "refused") return undefined;
  if (answer.kind === "failed")
    return answer.status === undefined ? undefined : discoverEra(answer.status, undefined);
  const era = discoverEra(answer.status, answer.message as CheckResponse);
  if (era !== "modern" || answer.message["result"] === undefined) return era;
  const parsed = DiscoverResultSchema.safeParse(answer.message["result"]);
  if (!parsed.success) return "modern";
  const versions = parsed.data.supportedVersions;
  return versions.some((version) => !isModernVersion(version)) ? "dual" : "modern";
}
