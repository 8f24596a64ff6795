import type { Timer, Timers } from "../time/Timers.ts";
import type { Upstream } from "../upstreams/Upstream.ts";

/** An MCP session Breakwater holds with one upstream on behalf of the aggregate's callers. */
export interface UpstreamSession {
  /** Its key in the table: the client's session and the server, or the upstream of a shared one. */
  readonly key: string;
  /** The aggregate client session it was opened for; undefined: shared by the modern clients. */
  readonly client: string | undefined;
  readonly upstream: Upstream;
  /** The upstream's `Mcp-Session-Id`; undefined: a server that keeps no sessions (stateless). */
  readonly sessionId: string | undefined;
  /** The protocol version the upstream answered `initialize` with (`MCP-Protocol-Version` on each call). */
  readonly version: string;
  lastUsed: number;
}

/** Why a session left the table without anyone asking. */
export type Dropped = "evicted" | "idle";

export interface SessionTableOptions {
  readonly timers: Timers;
  /** At this many sessions the least recently used one is dropped to make room. */
  readonly maxSessions: number;
  /** A session unused this long is dropped. */
  readonly idleMs: number;
  /** Told of each session dropped by the bound or by idleness (to close it upstream). */
  readonly onDropped: (session: UpstreamSession, why: Dropped) => void;
}

/**
 * The upstream sessions of this replica, least recently used first: bounded in count, and emptied of
 * idle ones by one timer for the whole table (set for when the oldest falls idle), so a use costs a
 * Map move and no timer. Indexed by client session too, for a client that ends its session.
 */
export class SessionTable {
  readonly #options: SessionTableOptions;
  readonly #sessions = new Map<string, UpstreamSession>();
  readonly #byClient = new Map<string, Set<string>>();
  #sweep: Timer | undefined;

  constructor(options: SessionTableOptions) {
    if (!(options.maxSessions >= 1)) throw new RangeError(`maxSessions must be ≥ 1: ${options.maxSessions}`);
    if (!(options.idleMs >= 1)) throw new RangeError(`idleMs must be ≥ 1: ${options.idleMs}`);
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session under `key`, now the most recently used; undefined when there is none. */
  use(key: string): UpstreamSession | undefined {
    const session = this.#sessions.get(key);
    if (session === undefined) return undefined;
    session.lastUsed = this.#options.timers.now();
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    return session;
  }

  /** Holds `session` (replacing the one under its key), dropping the least recently used past the bound. */
  add(session: UpstreamSession): void {
    session.lastUsed = this.#options.timers.now();
    this.remove(this.#sessions.get(session.key));
    while (this.#sessions.size >= this.#options.maxSessions) {
      const oldest = this.#sessions.values().next().value as UpstreamSession;
      this.remove(oldest);
      this.#options.onDropped(oldest, "evicted");
    }
    this.#sessions.set(session.key, session);
    if (session.client !== undefined) {
      const keys = this.#byClient.get(session.client) ?? new Set<string>();
      keys.add(session.key);
      this.#byClient.set(session.client, keys);
    }
    if (this.#sweep === undefined) this.#arm();
  }

  /** Forgets `session` if the table holds it (and not a newer one under its key); whether it did. */
  remove(session: UpstreamSession | undefined): boolean {
    if (session === undefined || this.#sessions.get(session.key) !== session) return false;
    this.#sessions.delete(session.key);
    if (session.client !== undefined) {
      const keys = this.#byClient.get(session.client);
      keys?.delete(session.key);
      if (keys?.size === 0) this.#byClient.delete(session.client);
    }
    return true;
  }

  /** The sessions opened for client session `client`. */
  ofClient(client: string): UpstreamSession[] {
    const keys = this.#byClient.get(client);
    if (keys === undefined) return [];
    return [...keys].map((key) => this.#sessions.get(key) as UpstreamSession);
  }

  /** Empties the table and stops its timer; the sessions it held. */
  clear(): UpstreamSession[] {
    const held = [...this.#sessions.values()];
    this.#sessions.clear();
    this.#byClient.clear();
    this.#options.timers.clearTimeout(this.#sweep);
    this.#sweep = undefined;
    return held;
  }

  /** Sets the one timer for when the least recently used session falls idle. */
  #arm(): void {
    const oldest = this.#sessions.values().next().value;
    if (oldest === undefined) return;
    const { timers, idleMs } = this.#options;
    this.#sweep = timers.setTimeout(() => this.#expire(), oldest.lastUsed + idleMs - timers.now());
  }

  #expire(): void {
    this.#sweep = undefined;
    const { timers, idleMs } = this.#options;
    const now = timers.now();
    for (const session of this.#sessions.values()) {
      if (session.lastUsed + idleMs > now) break; // least recently used first: the rest are younger
      this.remove(session);
      this.#options.onDropped(session, "idle");
    }
    this.#arm();
  }
}
