import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  DiscoverResultSchema,
  InitializeResultSchema,
  LATEST_PROTOCOL_VERSION,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/core/internal";
import { admits } from "../circuits/serverStatus.ts";
import { modernRevision } from "../health/discoverEra.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { PoolAnswer, PoolClient, UpstreamEra } from "./contracts.ts";

/** Who Breakwater says it is in its own requests to the aggregated servers. */
const clientInfo = { name: "breakwater-aggregate", version: "1" };

/** Breakwater's own session with an earlier-era upstream (SPEC §7.2: it is a client of each server). */
export interface OwnSession {
  readonly upstream: Upstream;
  /** Its `Mcp-Session-Id`; undefined: a server that keeps no sessions (the SDK's stateless mode). */
  readonly id: string | undefined;
  readonly version: string;
}

/** What Breakwater learnt on first contact with a server: its era, capabilities, and its own session. */
export interface Contact {
  readonly era: UpstreamEra;
  readonly capabilities: Readonly<Record<string, unknown>>;
  /** Earlier era only: the session Breakwater's lists and GET stream use. */
  readonly session: OwnSession | undefined;
}

/** How one of Breakwater's own requests ended, as the lists read it. */
export type OwnAnswer =
  | { readonly kind: "result"; readonly result: Record<string, unknown> }
  | { readonly kind: "error"; readonly code: number; readonly message: string }
  /** The server answered 401/403: Breakwater's requests carry no client credentials. */
  | { readonly kind: "unauthorized"; readonly status: number }
  /** Refused by the circuits, failed, timed out, or no contact. */
  | { readonly kind: "unavailable"; readonly reason: string; readonly retryAfterMs?: number | undefined };

export interface AskOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onMessage?: ((message: Record<string, unknown>, upstream: Upstream) => void) | undefined;
}

let nextId = 1;
/** JSON-RPC "method not found". */
const methodNotFound = -32601;
const refuseTimeoutMs = 10_000;

/**
 * Breakwater as a client of one aggregated server: learns its era (`poolClient.eraOf`) and capabilities
 * (`server/discover`, or `initialize` for an earlier-era server, whose session it keeps and re-opens
 * on a 404), and sends its own requests in the era the server speaks — 2026-07-28's with the `_meta`
 * envelope and the `MCP-Protocol-Version`/`Mcp-Method` headers, earlier ones on its own session.
 */
export class ServerContact {
  pool: ServerPool;
  readonly #poolClient: PoolClient;
  readonly #learnt: (capabilities: Readonly<Record<string, unknown>>) => void;
  #contact: Promise<Contact | OwnAnswer> | undefined;

  constructor(
    pool: ServerPool,
    poolClient: PoolClient,
    learnt: (capabilities: Readonly<Record<string, unknown>>) => void,
  ) {
    this.pool = pool;
    this.#poolClient = poolClient;
    this.#learnt = learnt;
  }

  /** The contact (single flight), or why there is none. */
  contact(timeoutMs: number): Promise<Contact | OwnAnswer> {
    if (this.#contact === undefined) {
      const made = this.#make(timeoutMs);
      this.#contact = made;
      void made.then((contact) => {
        if (!("era" in contact) && this.#contact === made) this.#contact = undefined;
      });
    }
    return this.#contact;
  }

  /** Forgets what was learnt (a failed exchange, a lost session): the next request contacts again. */
  forget(): void {
    this.#contact = undefined;
  }

  /** Sends `method` with `params` in the server's era; an earlier-era session lost (404) is re-opened once. */
  async ask(method: string, params: Record<string, unknown>, options: AskOptions): Promise<OwnAnswer> {
    for (let attempt = 0; ; attempt++) {
      const contact = await this.contact(options.timeoutMs);
      if (!("era" in contact)) return contact;
      let answer: PoolAnswer;
      try {
        answer = await this.#send(contact, method, params, options);
      } catch (error) {
        this.forget();
        return { kind: "unavailable", reason: error instanceof Error ? error.message : String(error) };
      }
      const lost = contact.session?.id !== undefined && statusOf(answer) === 404;
      if (lost && attempt === 0) {
        this.forget();
        continue;
      }
      const read = readAnswer(answer);
      if (read.kind === "unavailable") this.forget();
      return read;
    }
  }

  /**
   * Answers a request an earlier-era server sent on Breakwater's own session (sampling, elicitation,
   * roots) with -32601: Breakwater advertised no such capability, and the server must not hang waiting.
   */
  refuse(session: OwnSession, id: unknown): void {
    const message = {
      jsonrpc: "2.0",
      id,
      error: {
        code: methodNotFound,
        message: "Method not found: Breakwater's own session serves no requests",
      },
    };
    this.#poolClient
      .request(this.pool, message, {
        headers: ownSessionHeaders(session),
        bound: session.upstream,
        timeoutMs: refuseTimeoutMs,
      })
      .catch(() => {}); // best effort: the server's own timeout ends its wait otherwise
  }

  #send(contact: Contact, method: string, params: Record<string, unknown>, options: AskOptions) {
    const message = { jsonrpc: "2.0", id: nextId++, method, params };
    const session = contact.session;
    if (session === undefined) {
      message.params = { ...params, _meta: envelope() };
      const headers = { "mcp-protocol-version": modernRevision, "mcp-method": method };
      return this.#poolClient.request(this.pool, message, { ...options, headers });
    }
    const headers = ownSessionHeaders(session);
    // without a session, any replica serves the request
    const bound = session.id === undefined ? undefined : session.upstream;
    return this.#poolClient.request(this.pool, message, { ...options, headers, bound });
  }

  /** Never rejects: a pool client that throws is a server Breakwater cannot reach now. */
  async #make(timeoutMs: number): Promise<Contact | OwnAnswer> {
    try {
      return await this.#reach(timeoutMs);
    } catch (error) {
      return { kind: "unavailable", reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async #reach(timeoutMs: number): Promise<Contact | OwnAnswer> {
    const pool = this.pool;
    const upstream = pool.upstreams.find((u) => admits(u.circuit.state)) ?? pool.upstreams[0];
    if (upstream === undefined) return { kind: "unavailable", reason: "no upstream" };
    const era = await this.#poolClient.eraOf(pool, upstream);
    if (era === undefined) return { kind: "unavailable", reason: "era unknown" };
    if (era !== "earlier") return this.#discover(era, timeoutMs);
    return this.#initialize(upstream, timeoutMs);
  }

  async #discover(era: UpstreamEra, timeoutMs: number): Promise<Contact | OwnAnswer> {
    const message = {
      jsonrpc: "2.0",
      id: nextId++,
      method: "server/discover",
      params: { _meta: envelope() },
    };
    const headers = { "mcp-protocol-version": modernRevision, "mcp-method": "server/discover" };
    const read = readAnswer(await this.#poolClient.request(this.pool, message, { headers, timeoutMs }));
    if (read.kind !== "result") return read;
    const parsed = DiscoverResultSchema.safeParse(read.result);
    if (!parsed.success) return { kind: "unavailable", reason: "server/discover: not a DiscoverResult" };
    const capabilities = parsed.data.capabilities as Record<string, unknown>;
    this.#learnt(capabilities);
    return { era, capabilities, session: undefined };
  }

  async #initialize(upstream: Upstream, timeoutMs: number): Promise<Contact | OwnAnswer> {
    const params = { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo };
    const message = { jsonrpc: "2.0", id: nextId++, method: "initialize", params };
    const headers = { "mcp-method": "initialize" };
    const answer = await this.#poolClient.request(this.pool, message, {
      headers,
      timeoutMs,
      bound: upstream,
    });
    const read = readAnswer(answer);
    if (read.kind !== "result") return read;
    const parsed = InitializeResultSchema.safeParse(read.result);
    const id = answer.kind === "answer" ? answer.headers["mcp-session-id"] : undefined;
    // no session id: a server that keeps no sessions (MCP lets it), asked without one from now on
    if (!parsed.success || (id !== undefined && typeof id !== "string"))
      return { kind: "unavailable", reason: "initialize: not an InitializeResult" };
    const session: OwnSession = { upstream, id, version: parsed.data.protocolVersion };
    const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
    await this.#poolClient.request(this.pool, initialized, {
      headers: ownSessionHeaders(session),
      bound: upstream,
      timeoutMs,
    });
    const capabilities = parsed.data.capabilities as Record<string, unknown>;
    this.#learnt(capabilities);
    return { era: "earlier", capabilities, session };
  }
}

/** The 2026-07-28 `_meta` every modern request carries (basic/index "Per-request protocol fields"). */
function envelope(): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_META_KEY]: modernRevision,
    [CLIENT_INFO_META_KEY]: clientInfo,
    [CLIENT_CAPABILITIES_META_KEY]: {},
  };
}

/** The headers of a request on Breakwater's own session with an earlier-era server. */
export function ownSessionHeaders(session: OwnSession): Record<string, string> {
  const headers: Record<string, string> = { "mcp-protocol-version": session.version };
  if (session.id !== undefined) headers["mcp-session-id"] = session.id;
  return headers;
}

function statusOf(answer: PoolAnswer): number | undefined {
  return answer.kind === "refused" ? undefined : answer.status;
}

/** A pool's answer as the lists read it. */
export function readAnswer(answer: PoolAnswer): OwnAnswer {
  if (answer.kind === "refused")
    return { kind: "unavailable", reason: "refused by the circuits", retryAfterMs: answer.retryAfterMs };
  if (answer.status === 401 || answer.status === 403) return { kind: "unauthorized", status: answer.status };
  if (answer.kind === "failed") return { kind: "unavailable", reason: answer.reason };
  const { result, error } = answer.message as {
    result?: unknown;
    error?: { code?: unknown; message?: unknown };
  };
  if (typeof result === "object" && result !== null && !Array.isArray(result))
    return { kind: "result", result: result as Record<string, unknown> };
  if (typeof error === "object" && error !== null && typeof error.code === "number")
    return { kind: "error", code: error.code, message: String(error.message ?? "") };
  return { kind: "unavailable", reason: `answered ${answer.status} without a result` };
}
