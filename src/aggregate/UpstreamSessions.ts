import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/core/internal";
import type { Logger } from "pino";
import { admits } from "../circuits/serverStatus.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import { systemTimers, type Timers } from "../time/Timers.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { Caller, ClientSession, Hop, HopPlanner, NoHop, PoolClient, UpstreamEra } from "./contracts.ts";
import {
  circuitOpen,
  openUpstreamSession,
  sessionFailed,
  upstreamSessionHeaders,
} from "./openUpstreamSession.ts";
import { SessionTable, type UpstreamSession } from "./SessionTable.ts";
import { breakwaterInfo, envelopeHop, passThrough, sessionHeaders } from "./sessionlessHops.ts";
import { admitted, chooseUpstream, soonestRetryMs } from "./upstreamChoice.ts";

export interface UpstreamSessionsOptions {
  readonly poolClient: PoolClient;
  readonly logger: Logger;
  readonly timers?: Timers | undefined;
  /** Upstream sessions held at most on this replica; past it the least recently used is closed. */
  readonly maxSessions?: number | undefined;
  /** An upstream session unused this long is closed. */
  readonly idleMs?: number | undefined;
  /** How long opening a session (`initialize`, then `notifications/initialized`) may take per request. */
  readonly openTimeoutMs?: number | undefined;
  /**
   * Ends an upstream session Breakwater no longer needs (an HTTP `DELETE` with its headers), best
   * effort; absent: the session is only forgotten, and the upstream's own idle expiry ends it.
   */
  readonly closeSession?:
    | ((upstream: Upstream, headers: Readonly<Record<string, string>>) => void)
    | undefined;
}

/**
 * Plans each call's hop to a server in an era its upstreams speak (SPEC §7.2: Breakwater "may speak
 * either era to a server that serves both, and speaks 2026-07-28 to one that serves only it"):
 * - a modern client to a modern or dual server: passed through, sessionless and balanced;
 * - an earlier-era client to an earlier or dual server: on the client's own session with that server,
 *   opened on first use with the client's own `initialize` params, re-opened when lost;
 * - a modern client to an earlier-only server: on a session per upstream Breakwater opens with no
 *   capabilities (so the server asks it nothing), the answer given `resultType`;
 * - an earlier-era client to a modern-only server: with the 2026-07-28 `_meta` envelope made of the
 *   client's session (version, clientInfo, capabilities).
 * Sessions live on this replica only; a replica that never saw a client opens its own on first use.
 */
export class UpstreamSessions implements HopPlanner {
  readonly #poolClient: PoolClient;
  readonly #logger: Logger;
  readonly #openTimeoutMs: number;
  readonly #closeSession: UpstreamSessionsOptions["closeSession"];
  readonly #table: SessionTable;
  /** Sessions being opened, by key: one `initialize` however many calls wait for it. */
  readonly #opening = new Map<string, Promise<UpstreamSession | NoHop>>();
  /**
   * Client sessions ended on this replica lately: a session of theirs still opening (or opened by a
   * call that raced the end) is closed as soon as it opens, not held.
   */
  readonly #ended = new Set<string>();
  #requests = 0;
  /** Closed (shutdown, or the aggregate left the config): a session that opens now is not held. */
  #closed = false;
  /** Sessions found lost (a 404, or their upstream stopped admitting), each counted once, re-opened on use. */
  lostSessions = 0;

  constructor(options: UpstreamSessionsOptions) {
    this.#poolClient = options.poolClient;
    this.#logger = options.logger;
    this.#openTimeoutMs = options.openTimeoutMs ?? 10_000;
    this.#closeSession = options.closeSession;
    this.#table = new SessionTable({
      timers: options.timers ?? systemTimers,
      maxSessions: options.maxSessions ?? 16_384,
      idleMs: options.idleMs ?? 600_000,
      onDropped: (session) => this.#close(session),
    });
  }

  /** Upstream sessions held now. */
  get sessions(): number {
    return this.#table.size;
  }

  hop(pool: ServerPool, caller: Caller): Hop | NoHop | Promise<Hop | NoHop> {
    if (caller.era === "earlier") {
      const held = this.#table.use(ownKey(caller.session, pool));
      if (held !== undefined && this.#holds(pool, held)) return this.#sessionHop(pool, held, caller);
    } else if (this.#servesModern(pool)) return passThrough;
    return this.#planned(pool, caller);
  }

  /**
   * Whether every upstream of `pool` that admits now is known (learnt, not being asked) to serve the
   * modern era: a modern client's call then passes through as `#planned` would decide, nothing awaited.
   */
  #servesModern(pool: ServerPool): boolean {
    const client = this.#poolClient;
    if (client.knownEra === undefined) return false;
    const open = admitted(pool.upstreams);
    for (const upstream of open) {
      const era = client.knownEra(upstream);
      if (era === undefined || era === "earlier") return false;
    }
    return open.length > 0;
  }

  /** The hop as the upstreams' eras decide it, each asked (once: remembered) if not known. */
  async #planned(pool: ServerPool, caller: Caller): Promise<Hop | NoHop> {
    const open = admitted(pool.upstreams);
    if (open.length === 0) return circuitOpen(soonestRetryMs(pool.upstreams));
    // PoolClient remembers eras: asking is a resolved promise per upstream, a request only when unknown
    const asked = await Promise.all(open.map((u) => this.#poolClient.eraOf(pool, u).catch(() => undefined)));
    // one that serves only sessions (a stdio server of the earlier era, or one whose era its first
    // process has yet to tell) takes no sessionless call, whatever it was asked: it gets a session
    const eras = asked.map((era, i) => (era === undefined && !open[i]?.servesSessionless ? "earlier" : era));
    // an era not learnt (the server did not say) is taken to be the caller's: the call itself will tell
    const servesModern = (u: Upstream) => !["none", "earlier"].includes(eraIn(open, eras, u) as string);
    const servesEarlier = (u: Upstream) => !["none", "modern"].includes(eraIn(open, eras, u) as string);
    if (caller.era === "modern") {
      const modern = eras.filter((era) => era !== "earlier").length;
      if (modern === open.length) return passThrough;
      if (modern > 0) {
        // a pool in two eras at once (a rolling upgrade): this call goes to one that serves its era
        const choice = chooseUpstream(pool, servesModern);
        return "upstream" in choice
          ? { ...passThrough, bound: choice.upstream }
          : circuitOpen(choice.retryAfterMs);
      }
      return this.#sharedHop(pool, caller, servesEarlier);
    }
    if (eras.every((era) => era === "modern")) return envelopeHop(caller.session);
    return this.#ownHop(pool, caller, servesEarlier);
  }

  ended(session: ClientSession): void {
    for (const held of this.#table.ofClient(session.id)) {
      this.#table.remove(held);
      this.#close(held);
    }
    if (this.#ended.size >= endedRemembered) this.#ended.delete(this.#ended.values().next().value as string);
    this.#ended.add(session.id);
  }

  /** Closes every upstream session (shutdown): each is ended upstream, best effort, and no timer stays. */
  close(): void {
    this.#closed = true;
    for (const held of this.#table.clear()) this.#close(held);
  }

  /** Whether `held` can take a call now: its upstream is still the pool's and its circuit admits (peeked). */
  #holds(pool: ServerPool, held: UpstreamSession): boolean {
    return pool.upstreams.includes(held.upstream) && admits(held.upstream.circuit.state);
  }

  /** The client's own session with `pool`'s server: held, or opened now (once, however many ask). */
  async #ownHop(
    pool: ServerPool,
    caller: Extract<Caller, { era: "earlier" }>,
    eligible: (u: Upstream) => boolean,
  ): Promise<Hop | NoHop> {
    const client = caller.session;
    const key = ownKey(client, pool);
    const held = this.#table.use(key);
    // another call may have opened it meanwhile; one whose upstream no longer admits is lost
    if (held !== undefined && this.#holds(pool, held)) return this.#sessionHop(pool, held, caller);
    if (held !== undefined) this.#drop(held);
    const opened = await this.#opened(key, client.id, pool, eligible, {
      protocolVersion: client.protocolVersion,
      ...client.initializeParams,
    });
    return "refused" in opened ? opened : this.#sessionHop(pool, opened, caller);
  }

  /** The session a modern client's call to an earlier-only server goes on: one per upstream, Breakwater's. */
  async #sharedHop(
    pool: ServerPool,
    caller: Caller,
    eligible: (u: Upstream) => boolean,
  ): Promise<Hop | NoHop> {
    const choice = chooseUpstream(pool, eligible);
    if (!("upstream" in choice)) return circuitOpen(choice.retryAfterMs);
    const key = sharedKey(choice.upstream);
    let held = this.#table.use(key);
    // a reload that replaced the upstream (same name, new settings) left this session on the old one
    if (held !== undefined && held.upstream !== choice.upstream) {
      this.#drop(held);
      held = undefined;
    }
    const session =
      held ??
      (await this.#opened(key, undefined, pool, (u) => u === choice.upstream, {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: breakwaterInfo,
      }));
    return "refused" in session ? session : this.#sessionHop(pool, session, caller);
  }

  /**
   * The hop of `caller`'s call on `session`. Its `sessionLost` forgets the session and plans the hop
   * anew (eras asked again: the upstream may have come back as another version), so the call goes once
   * to a new session — or to whatever the pool serves now.
   */
  #sessionHop(pool: ServerPool, session: UpstreamSession, caller: Caller): Hop {
    const setHeaders: Record<string, string> = { "MCP-Protocol-Version": session.version };
    if (session.sessionId !== undefined) setHeaders["Mcp-Session-Id"] = session.sessionId;
    return {
      bound: session.upstream,
      setHeaders,
      dropHeaders: sessionHeaders,
      metaEnvelope: undefined,
      addsResultType: session.client === undefined,
      sessionLost: async () => {
        this.#drop(session);
        const next = await this.hop(pool, caller);
        return "refused" in next ? undefined : next;
      },
    };
  }

  /** Forgets a session found lost (or on an upstream that no longer admits): it is re-opened, counted once. */
  #drop(session: UpstreamSession): void {
    if (!this.#table.remove(session)) return; // another call found it lost first
    this.lostSessions++;
    // debug: an upstream's restart loses every session on it at once, each re-opened on its next call
    this.#logger.debug(
      { upstream: session.upstream.name, shared: session.client === undefined },
      "aggregate: upstream session lost, opening a new one",
    );
  }

  /** The session opened under `key`, or why none could be: one opening per key at a time. */
  #opened(
    key: string,
    client: string | undefined,
    pool: ServerPool,
    eligible: (u: Upstream) => boolean,
    params: Readonly<Record<string, unknown>>,
  ): Promise<UpstreamSession | NoHop> {
    let opening = this.#opening.get(key);
    if (opening === undefined) {
      opening = this.#open(key, client, pool, eligible, params)
        .catch((error: unknown) => {
          this.#logger.warn({ server: pool.name, error }, "aggregate: upstream session not opened");
          return sessionFailed;
        })
        .finally(() => this.#opening.delete(key));
      this.#opening.set(key, opening);
    }
    return opening;
  }

  /** A session on an admitted upstream of the pool, kept unless the planner or its client ended meanwhile. */
  async #open(
    key: string,
    client: string | undefined,
    pool: ServerPool,
    eligible: (u: Upstream) => boolean,
    params: Readonly<Record<string, unknown>>,
  ): Promise<UpstreamSession | NoHop> {
    const choice = chooseUpstream(pool, eligible);
    if (!("upstream" in choice)) return circuitOpen(choice.retryAfterMs);
    const opening = { poolClient: this.#poolClient, logger: this.#logger, timeoutMs: this.#openTimeoutMs };
    const id = `bw-initialize-${++this.#requests}`;
    const session = await openUpstreamSession(opening, id, {
      key,
      client,
      pool,
      upstream: choice.upstream,
      params,
    });
    if ("refused" in session) return session;
    if (this.#closed || (client !== undefined && this.#ended.has(client))) {
      this.#close(session); // the planner closed, or its client ended its session, while it opened
      return sessionFailed;
    }
    this.#table.add(session);
    return session;
  }

  /** Ends `session` upstream, best effort (only where a `closeSession` is given). */
  #close(session: UpstreamSession): void {
    if (this.#closeSession === undefined || session.sessionId === undefined) return;
    try {
      this.#closeSession(session.upstream, upstreamSessionHeaders(session));
    } catch (error) {
      this.#logger.debug(
        { upstream: session.upstream.name, error },
        "aggregate: upstream session not closed",
      );
    }
  }
}

/** How many ended client sessions are remembered (a later end forgets the oldest). */
const endedRemembered = 4_096;

/** The era of `upstream`, one of `open` (whose eras are `eras`); "none" for an upstream not open. */
function eraIn(
  open: readonly Upstream[],
  eras: readonly (UpstreamEra | undefined)[],
  upstream: Upstream,
): UpstreamEra | undefined | "none" {
  const i = open.indexOf(upstream);
  return i < 0 ? "none" : eras[i];
}

/** A client's session with a server (ids are base64url: never a NUL). */
function ownKey(client: ClientSession, pool: ServerPool): string {
  return `${client.id}\0${pool.name}`;
}

/** The shared session of an upstream (upstream names are unique in a plane). */
function sharedKey(upstream: Upstream): string {
  return `\0${upstream.name}`;
}
