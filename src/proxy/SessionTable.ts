import type { Clock } from "../index.ts";

export interface SessionTableOptions {
  /** Most sessions held; binding one more forgets the least recently used. */
  readonly maxSessions: number;
  /** A session unused for this long (ms) is forgotten. */
  readonly idleMs: number;
  readonly clock: Clock;
}

/**
 * Which upstream each MCP session lives on (`Mcp-Session-Id` → upstream). Bounded: least recently used
 * sessions are dropped past `maxSessions`, idle ones after `idleMs`. A Map keeps insertion order, so
 * moving an entry to the end on use makes its first key the least recently used.
 */
export class SessionTable<T> {
  readonly #entries = new Map<string, { value: T; lastUsed: number }>();
  readonly #options: SessionTableOptions;

  constructor(options: SessionTableOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Binds `id` to `value` (rebinding moves it). */
  bind(id: string, value: T): void {
    this.#entries.delete(id);
    this.#entries.set(id, { value, lastUsed: this.#options.clock.now() });
    if (this.#entries.size > this.#options.maxSessions) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** The value bound to `id`, marking it used; `undefined` when unknown or idle too long. */
  lookup(id: string): T | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    const now = this.#options.clock.now();
    this.#entries.delete(id);
    if (now - entry.lastUsed >= this.#options.idleMs) return undefined;
    entry.lastUsed = now;
    this.#entries.set(id, entry);
    return entry.value;
  }

  /** Forgets `id`. */
  end(id: string): void {
    this.#entries.delete(id);
  }

  /**
   * Keeps the table in step with a response: a response naming a session binds it to the upstream
   * that answered (unless the request's own lookup found it bound there, and marked it used); a
   * DELETE the upstream answered with a 2xx ends it — one it refused (a 405) leaves it where it is.
   */
  afterResponse(response: {
    readonly method: string;
    /** The request's own `Mcp-Session-Id`. */
    readonly requested: string | string[] | undefined;
    /** The value the request's lookup found. */
    readonly bound: T | undefined;
    readonly upstream: T;
    readonly status: number;
    /** The response's `Mcp-Session-Id`. */
    readonly named: string | string[] | undefined;
  }): void {
    const { requested, named } = response;
    if (response.method === "DELETE") {
      if (typeof requested === "string" && response.status >= 200 && response.status < 300)
        this.end(requested);
      return;
    }
    if (typeof named === "string" && !(named === requested && response.bound === response.upstream)) {
      this.bind(named, response.upstream);
    }
  }
}
