/**
 * Bytes held for clients of one stdio upstream that do not read, all together: each client may hold
 * up to `maxHeldBytes` (see `ModernExchange`), and this bounds their sum, since a process serves many
 * clients at once and is never paused for one — without it, many slow clients could each hold their
 * share and grow the proxy's memory with their number.
 */
export class HeldBytes {
  readonly #max: number;
  #used = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` of the budget: false (nothing taken) when that would go past it. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.#max) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used -= bytes;
  }
}

/** Bytes held for non-reading clients of one stdio upstream at most, all together. */
export const maxHeldBytesPerUpstream = 64 * 1024 * 1024;
