/**
 * The request bodies held in memory at once, all clients together (`server.max_buffered_bytes`):
 * without a global bound, a crowd of slow uploads, each within `max_body_bytes`, could still take
 * the proxy's memory. Bytes are taken as they arrive and given back when the request is over.
 */
export class BodyBudget {
  readonly limit: number;
  #held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) when they do not. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.limit) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }
}
