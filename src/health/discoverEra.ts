import type { CheckResponse } from "./checkAnswer.ts";

/** Which MCP an upstream speaks: 2026-07-28 (stateless, `server/discover`) or an earlier revision (`initialize`). */
export type McpEra = "modern" | "earlier";

/** The revision a check's `server/discover` is asked in. */
export const modernRevision = "2026-07-28";

/** JSON-RPC codes only a 2026-07-28 server answers (HeaderMismatch, MissingRequiredClientCapability, UnsupportedProtocolVersion). */
const headerMismatch = -32020;
const missingCapability = -32021;
/** UnsupportedProtocolVersion: also what a modern-only server answers an `initialize`. */
export const unsupportedVersion = -32022;
const methodNotFound = -32601;

/**
 * What an answer to `server/discover` says of the upstream's era (SPEC §8.2; MCP 2026-07-28,
 * transports "Backward Compatibility" and versioning): a `result` is a modern server's (every one
 * implements it); -32601, or a 400 or 404 without a modern error in its body, is an earlier-era server's
 * (they answer an unknown method, or a request without their session or version, so). A modern error
 * (-32020, -32021, -32022) shows a modern server that rejected the request: it answered. Undefined
 * when the answer does not tell: a 5xx or a timeout (a failure, whatever the era), a 401/403 or another
 * status, an error on a 200 other than those.
 *
 * A -32022 (UnsupportedProtocolVersion) naming only revisions before 2026-07-28, or none, is an
 * earlier-era server's as the SDK 2.x client reads it; naming a later one, it is a modern server that
 * answered. No second `server/discover` is sent at that revision: the check knows no request shape but
 * 2026-07-28's, and a modern error body is already the answer of a working server.
 */
export function discoverEra(status: number, response: CheckResponse | undefined): McpEra | undefined {
  if (status >= 500) return undefined; // a server error, whatever its body says
  const ok = status >= 200 && status < 300;
  if (ok && response?.result !== undefined) return "modern";
  const code = response?.error?.code;
  if (code === unsupportedVersion) return namesModernRevision(response?.error?.data) ? "modern" : "earlier";
  if (code === headerMismatch || code === missingCapability) return "modern";
  if (code === methodNotFound) return "earlier";
  if (status === 400 || status === 404) return "earlier";
  return undefined;
}

/** Whether a -32022's `data.supported` lists a revision of 2026-07-28 or later (dates compare as text). */
function namesModernRevision(data: unknown): boolean {
  const supported = (data as { supported?: unknown } | undefined)?.supported;
  return Array.isArray(supported) && supported.some((v) => typeof v === "string" && v >= modernRevision);
}
