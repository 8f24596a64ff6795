import type { Pool } from "undici";

interface Shared {
  readonly pool: Pool;
  users: number;
}

/**
 * The connection pools of HTTP upstreams, one per origin and connection settings, shared by every
 * upstream that reaches the same origin the same way: many MCP servers behind one host (one ingress,
 * different paths) then share its keep-alive connections as one server's replicas would, instead of
 * each keeping its own — so that 100 servers on one origin cost the proxy what one does. A pool is
 * destroyed when its last upstream lets go of it (a reload that removes one keeps the others' pool).
 */
export class ConnectionPools {
  readonly #pools = new Map<string, Shared>();

  /** The pool for `key` (origin and settings), made by `make` when none is held; hold it until `release`. */
  acquire(key: string, make: () => Pool): Pool {
    let shared = this.#pools.get(key);
    if (shared === undefined) {
      shared = { pool: make(), users: 0 };
      this.#pools.set(key, shared);
    }
    shared.users++;
    return shared.pool;
  }

  /** One holder of `key`'s pool is done: destroyed (its connections closed) once none holds it. */
  release(key: string): Promise<void> {
    const shared = this.#pools.get(key);
    if (shared === undefined) return Promise.resolve();
    shared.users--;
    if (shared.users > 0) return Promise.resolve();
    this.#pools.delete(key);
    return shared.pool.destroy();
  }

  /** Pools held now (for tests and the curious). */
  get size(): number {
    return this.#pools.size;
  }
}
