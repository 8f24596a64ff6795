import type { Logger } from "pino";
import type { ServerPool } from "../proxy/ServerPool.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { NoHop, PoolClient } from "./contracts.ts";
import type { UpstreamSession } from "./SessionTable.ts";

/** What opening a session with an upstream needs of the planner. */
export interface SessionOpening {
  readonly poolClient: PoolClient;
  readonly logger: Logger;
  /** How long `initialize`, then `notifications/initialized`, may each take. */
  readonly timeoutMs: number;
}

/** The session to open: its key in the table, its client (undefined: shared), where, and with what. */
export interface SessionToOpen {
  readonly key: string;
  readonly client: string | undefined;
  readonly pool: ServerPool;
  readonly upstream: Upstream;
  /** The `initialize` params: the client's own, or Breakwater's for a shared session. */
  readonly params: Readonly<Record<string, unknown>>;
}

export const sessionFailed: NoHop = { refused: true, reason: "session_failed" };

export function circuitOpen(retryAfterMs: number | undefined): NoHop {
  return { refused: true, reason: "circuit_open", retryAfterMs };
}

/**
 * Opens a session with an earlier-era upstream as MCP's lifecycle has it: `initialize` (request id
 * `id`), then `notifications/initialized`. A session id that could not be held safely (not visible
 * ASCII, over 1,024 characters) is refused; a server that answers with no session id keeps none (a
 * stateless one) and is asked without.
 */
export async function openUpstreamSession(
  o: SessionOpening,
  id: string,
  { key, client, pool, upstream, params }: SessionToOpen,
): Promise<UpstreamSession | NoHop> {
  const message = { jsonrpc: "2.0", id, method: "initialize", params };
  const answer = await o.poolClient.request(pool, message, { bound: upstream, timeoutMs: o.timeoutMs });
  if (answer.kind === "refused") return circuitOpen(answer.retryAfterMs);
  const result = answer.kind === "answer" ? answer.message["result"] : undefined;
  if (answer.kind !== "answer" || typeof result !== "object" || result === null) {
    const why = answer.kind === "failed" ? answer.reason : JSON.stringify(answer.message["error"] ?? null);
    o.logger.warn(
      { server: pool.name, upstream: answer.upstream.name, why },
      "aggregate: upstream session not opened",
    );
    return sessionFailed;
  }
  const sessionId = answer.headers["mcp-session-id"];
  const version = (result as { protocolVersion?: unknown }).protocolVersion;
  if (sessionId !== undefined && !isSessionId(sessionId)) {
    // it goes into every call's headers and is held for the session's life: refused, not cut
    o.logger.warn({ server: pool.name, upstream: answer.upstream.name }, "aggregate: unusable session id");
    return sessionFailed;
  }
  const session: UpstreamSession = {
    key,
    client,
    upstream: answer.upstream,
    sessionId,
    version: isVersion(version) ? version : String(params["protocolVersion"]),
    lastUsed: 0,
  };
  // not awaited for a verdict: the session exists, and a call on it shows whether it works
  await o.poolClient
    .request(
      pool,
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { bound: session.upstream, headers: upstreamSessionHeaders(session), timeoutMs: o.timeoutMs },
    )
    .catch(() => undefined);
  return session;
}

/** The headers every request in `session` carries. */
export function upstreamSessionHeaders(session: UpstreamSession): Record<string, string> {
  const headers: Record<string, string> = { "MCP-Protocol-Version": session.version };
  if (session.sessionId !== undefined) headers["Mcp-Session-Id"] = session.sessionId;
  return headers;
}

/**
 * Whether an upstream's `Mcp-Session-Id` can be sent on and held: visible ASCII (MCP transports, session
 * management: 0x21–0x7E) and at most 1,024 characters (a table of them stays small).
 */
function isSessionId(value: string | string[]): value is string {
  return typeof value === "string" && value.length <= 1_024 && /^[\x21-\x7e]+$/.test(value);
}

/** A protocol version as MCP spells them (a date): anything else is not sent on as a header. */
function isVersion(value: unknown): value is string {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value);
}
