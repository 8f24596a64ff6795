/**
 * What a raw 2026-07-28 stdio test server answers Breakwater's era probe (`server/discover`) with: a
 * `DiscoverResult` listing 2026-07-28, with the capabilities given.
 */
export function discoverAnswer(id: unknown, capabilities: Record<string, unknown> = { tools: {} }) {
  return {
    jsonrpc: "2.0",
    id,
    result: {
      resultType: "complete",
      supportedVersions: ["2026-07-28"],
      capabilities,
      ttlMs: 0,
      cacheScope: "private",
    },
  };
}
