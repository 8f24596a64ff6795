import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  DiscoverResultSchema,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/core/internal";
import type { JSONRPCMessage, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";

/** The first revision of MCP without sessions (2026-07-28): it and later ones are the modern era. */
export const firstModernVersion = "2026-07-28";

/** Whether `version` names a modern revision (revisions are dates: later ones sort after). */
export function isModernVersion(version: unknown): version is string {
  return typeof version === "string" && version >= firstModernVersion && /^\d{4}-\d{2}-\d{2}$/.test(version);
}

/**
 * The revision a message claims in its `params._meta` (2026-07-28, basic/index "Per-request protocol
 * fields": every request and notification of the modern era carries it), undefined when it claims none.
 */
export function claimedVersion(message: unknown): string | undefined {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  const version = meta?.[PROTOCOL_VERSION_META_KEY];
  return typeof version === "string" ? version : undefined;
}

/**
 * The `server/discover` request that probes a process for its era: the backward-compatibility probe of
 * the 2026-07-28 stdio transport ("SHOULD probe with `server/discover` before sending any other
 * request, setting its preferred modern version in `_meta`"), with the envelope every modern request
 * carries.
 */
export function discoverRequest(id: number): JSONRPCRequest {
  return {
    jsonrpc: "2.0",
    id,
    method: "server/discover",
    params: {
      _meta: {
        [PROTOCOL_VERSION_META_KEY]: firstModernVersion,
        [CLIENT_CAPABILITIES_META_KEY]: {},
        [CLIENT_INFO_META_KEY]: { name: "breakwater", version: "1" },
      },
    },
  };
}

/**
 * What a probe's answer says of the server: modern when it is a `DiscoverResult` (the SDK's schema)
 * listing a modern revision (or an UnsupportedProtocolVersion error naming one); any other error, or any other result, is the earlier era (2026-07-28 stdio
 * transport, Backward Compatibility: "any other error … fall back to `initialize`").
 */
export function answersModern(answer: JSONRPCMessage): boolean {
  if ("error" in answer) {
    // a recognized modern error: "Do not fall back to `initialize`" (stdio.mdx, Backward Compatibility)
    const supported = (answer.error.data as { supported?: unknown } | undefined)?.supported;
    return answer.error.code === -32022 && Array.isArray(supported) && supported.some(isModernVersion);
  }
  if (!("result" in answer)) return false;
  const parsed = DiscoverResultSchema.safeParse(answer.result);
  return parsed.success && parsed.data.supportedVersions.some(isModernVersion);
}
