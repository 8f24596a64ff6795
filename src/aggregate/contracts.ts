import type { IncomingHttpHeaders } from "node:http";
import type { McpEra } from "../health/discoverEra.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import type { Upstream } from "../upstreams/Upstream.ts";

/**
 * The seams between the aggregate's parts (SPEC §7.2): its lists (what servers offer, merged, kept
 * fresh and told when they change), its endpoint (what clients send, answered or routed to a pool) and
 * Breakwater's own client of the pools (its requests to servers, as opposed to clients' requests it
 * forwards).
 */

/** The four lists a server offers and the aggregate merges. */
export type ListKind = "tools" | "prompts" | "resources" | "resourceTemplates";

/** What a server contributes to the merged lists now (SPEC §7.2). */
export type Listed = "current" | "cached" | "omitted";

/** A JSON-RPC error object, as the aggregate writes it. */
export interface RpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A list request's answer: the JSON text of its `result`, or the error to answer with. */
export type ListAnswer = { readonly result: string } | { readonly error: RpcError };

/** The server behind an aggregate name or URI, and the name or URI as that server knows it. */
export interface Named {
  readonly server: string;
  readonly name: string;
}

/** What the endpoint asks of the lists. Long-lived: survives reloads, follows the pools in force. */
export interface AggregateLists {
  /**
   * The merged list of `kind` for a client of `era` (2026-07-28 results carry `resultType`, `ttlMs`,
   * `cacheScope`; earlier ones do not), from `cursor` on. Never asks a server whose list is fresh;
   * waits at most `list_timeout_ms` for one that must be asked.
   */
  answer(kind: ListKind, era: McpEra, cursor: string | undefined): Promise<ListAnswer>;
  /** The server and its own name behind an aggregate tool or prompt name; undefined: no server's prefix. */
  toolOrPrompt(name: string): Named | undefined;
  /** The server and its own URI behind an aggregate resource URI (`server+uri`); undefined: none. */
  resource(uri: string): Named | undefined;
  /** `uri` of `server` as the aggregate's clients see it. */
  prefixUri(server: string, uri: string): string;
  /**
   * The capabilities the aggregate advertises (`initialize`, `server/discover`): lists with
   * `listChanged` always; `resources.subscribe`, `completions`, `logging` when a server has them.
   */
  capabilities(): Record<string, unknown>;
  /**
   * Tells `tell` each change of the merged lists of `kinds`, at most once per kind per second, when the
   * change happens. Returns the unsubscribe.
   */
  onChange(kinds: ReadonlySet<ListKind>, tell: (kind: ListKind) => void): () => void;
  /** A server said (on a call's stream) that its list of `kind` changed: refetch it. */
  serverSaidChanged(server: string, kind: ListKind): void;
}

/** An upstream's era as Breakwater learns it (`server/discover`): "dual" serves both. */
export type UpstreamEra = McpEra | "dual";

/** Options of one of Breakwater's own requests to a pool. */
export interface PoolRequestOptions {
  /** Send to this upstream only (a session's); undefined: the pool's balancer picks one that admits it. */
  readonly bound?: Upstream | undefined;
  /** Headers besides `Content-Type`/`Accept` (`Mcp-Session-Id`, `MCP-Protocol-Version`, `Mcp-Method`…). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** How long the answer may take from the request's dispatch; on expiry the exchange is aborted. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /**
   * Each JSON-RPC message of the answer's stream that is not the response itself (notifications,
   * server-to-client requests), as it comes. For a standing request (`subscriptions/listen`) the
   * stream's messages all come here and the promise resolves when the stream ends.
   */
  readonly onMessage?: ((message: Record<string, unknown>, upstream: Upstream) => void) | undefined;
}

/** How one of Breakwater's own requests ended. */
export type PoolAnswer =
  /** A JSON-RPC response (`result` or `error`) from `upstream`; `headers` of its HTTP head. */
  | {
      readonly kind: "answer";
      readonly upstream: Upstream;
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly message: Record<string, unknown>;
    }
  /** No upstream of the pool admitted it (circuits open, or all at `max_in_flight`). */
  | { readonly kind: "refused"; readonly retryAfterMs: number | undefined }
  /** Sent, and no JSON-RPC response came: an HTTP error status, a cut stream, a timeout. */
  | {
      readonly kind: "failed";
      readonly upstream: Upstream;
      readonly status: number | undefined;
      readonly reason: string;
    };

/**
 * Breakwater as a client of the pools: its own requests (lists, `server/discover`, `initialize`,
 * listens, answers to server requests), admitted by the upstreams' circuits, judged by the pool's
 * judges and counted like clients' requests, and failed over once when nothing was sent.
 */
export interface PoolClient {
  /** Sends `message` (a JSON-RPC request or notification object) to one of `pool`'s upstreams. */
  request(
    pool: ServerPool,
    message: Record<string, unknown>,
    options: PoolRequestOptions,
  ): Promise<PoolAnswer>;
  /**
   * Opens the earlier era's GET stream of a session on `upstream` (headers carry `Mcp-Session-Id`);
   * each message goes to `onMessage`; resolves when the stream ends or fails ("ended", or the reason).
   */
  stream(
    upstream: Upstream,
    headers: Readonly<Record<string, string>>,
    onMessage: (message: Record<string, unknown>) => void,
    signal: AbortSignal,
  ): Promise<string>;
  /** The era `upstream` speaks, asked once (`server/discover`) and remembered until an exchange fails. */
  eraOf(pool: ServerPool, upstream: Upstream): Promise<UpstreamEra | undefined>;
  /** The era `eraOf` has learnt of `upstream` and remembers now; undefined while unknown or being asked. */
  knownEra?(upstream: Upstream): UpstreamEra | undefined;
}

/**
 * An earlier-era client's session with the aggregate (SPEC §7.2), as its sealed token carries it: any
 * replica (and a restart with the same keys) opens it.
 */
export interface ClientSession {
  /** Unique per session (random): keys the upstream sessions opened for it. */
  readonly id: string;
  /** The protocol version negotiated with the client. */
  readonly protocolVersion: string;
  /** The client's own `initialize` params (capabilities, clientInfo), for the upstream sessions. */
  readonly initializeParams: Readonly<Record<string, unknown>>;
}

/** The aggregate's sessions of earlier-era clients: answered `initialize`, sealed, opened per request. */
export interface ClientSessions {
  /** A new session for `initialize` params: its token (the `Mcp-Session-Id` to answer with) and itself. */
  begin(
    protocolVersion: string,
    initializeParams: Readonly<Record<string, unknown>>,
  ): {
    readonly token: string;
    readonly session: ClientSession;
  };
  /** The session a token names; undefined: forged, of other keys, or ended on this replica. */
  open(token: string): ClientSession | undefined;
  /** The client ended it (`DELETE`): its upstream sessions are closed (best effort), the token refused. */
  end(session: ClientSession): void;
}

/** Who is calling, as the hop to a server must know it. */
export type Caller =
  | { readonly era: "modern"; readonly meta: Readonly<Record<string, unknown>> | undefined }
  | { readonly era: "earlier"; readonly session: ClientSession };

/**
 * How one call reaches one of a server's upstreams, in an era that upstream speaks (SPEC §7.2: "may
 * speak either era to a server that serves both"): the upstream to bind to (a session's) or none (the
 * balancer picks), headers to set and to drop, and what to change in the body and the answer.
 */
export interface Hop {
  /** The upstream holding the session the call must go to; undefined: any that admits it. */
  readonly bound: Upstream | undefined;
  /** Headers set on the request (replacing the client's of the same name), e.g. `Mcp-Session-Id`. */
  readonly setHeaders: Readonly<Record<string, string>>;
  /** Header names (lower case) of the client's that are not sent on (its `mcp-session-id` always). */
  readonly dropHeaders: readonly string[];
  /**
   * The 2026-07-28 `_meta` envelope to put into `params._meta` (an earlier-era client's call to a
   * modern-only server: protocol version, client info and capabilities); undefined: none.
   */
  readonly metaEnvelope: Readonly<Record<string, unknown>> | undefined;
  /** The answer gets `"resultType":"complete"` (a modern client answered by an earlier-era server). */
  readonly addsResultType: boolean;
  /**
   * The upstream answered 404 for the session: forget it and give the hop of a new one (opened now), or
   * undefined when none can be opened. The call is then sent once to the new one (SPEC §7.2).
   */
  readonly sessionLost: (() => Promise<Hop | undefined>) | undefined;
}

/** What a hop could not be made for: no upstream admits, or a session could not be opened. */
export interface NoHop {
  readonly refused: true;
  /** For the client's error: "circuit_open" (with retry-after) or "session_failed". */
  readonly reason: "circuit_open" | "session_failed";
  readonly retryAfterMs?: number | undefined;
}

/** Plans hops: learns upstreams' eras, opens (and re-opens) the upstream sessions of earlier-era hops. */
export interface HopPlanner {
  /** The hop of `caller`'s call to `pool`'s server: at once when nothing need be asked or opened. */
  hop(pool: ServerPool, caller: Caller): Hop | NoHop | Promise<Hop | NoHop>;
  /** The client's session ended: closes its upstream sessions on this replica (best effort). */
  ended(session: ClientSession): void;
}
