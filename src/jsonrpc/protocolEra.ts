/**
 * The era of MCP a request belongs to (SPEC §8): MCP 2026-07-28 made the protocol stateless, and each
 * of its requests says its revision in `params._meta["io.modelcontextprotocol/protocolVersion"]`
 * (basic/index.mdx, "Per-request protocol fields"); a request of an earlier revision carries no such
 * claim. What the proxy answers itself, and which header rules it enforces, follow the era the request
 * claims (as the SDK 2.x server classifies it: a claim naming a revision from 2026-07-28 on is modern).
 */

/** The `_meta` key of a request's protocol revision (MCP 2026-07-28). */
export const protocolVersionKey = "io.modelcontextprotocol/protocolVersion";

/** The first revision of the modern (stateless) era; revisions are dates, so they compare as text. */
export const firstModernVersion = "2026-07-28";

/** A message's `params._meta`, as parsed. */
interface WithMeta {
  readonly params?: { readonly _meta?: Readonly<Record<string, unknown>> };
}

/** The revision a message claims in its `_meta`, when it claims one of the modern era; else undefined. */
export function modernClaim(message: WithMeta): string | undefined {
  const meta = message.params?._meta;
  const version = typeof meta === "object" && meta !== null ? meta[protocolVersionKey] : undefined;
  return typeof version === "string" && version >= firstModernVersion ? version : undefined;
}
