/** Other replicas count as seen for this long after their last word (SPEC §6.2: a minute). */
export const seenForMs = 60_000;
/** The most replicas remembered: a fleet is far smaller; past it the one heard from longest ago goes. */
export const maxReplicasSeen = 1_000;

/**
 * The other replicas heard from, by id, with when each was last heard from: keyed by what messages
 * say, so bounded ({@link maxReplicasSeen}, the least recently heard evicted first).
 */
export class ReplicasSeen {
  /** In the order last heard from, oldest first (a Map keeps insertion order). */
  readonly #heardAt = new Map<string, number>();

  /** Notes a word from `replica` at `now`; true when it was not known (a newcomer, or one forgotten). */
  heard(replica: string, now: number): boolean {
    const known = this.#heardAt.delete(replica);
    if (!known && this.#heardAt.size >= maxReplicasSeen) {
      this.#heardAt.delete(this.#heardAt.keys().next().value as string);
    }
    this.#heardAt.set(replica, now);
    return !known;
  }

  /** `replica` said goodbye. */
  left(replica: string): void {
    this.#heardAt.delete(replica);
  }

  /** Replicas heard from within the last minute before `now`; the others are forgotten. */
  count(now: number): number {
    for (const [replica, at] of this.#heardAt) {
      if (now - at <= seenForMs) break; // oldest first: the rest are newer
      this.#heardAt.delete(replica);
    }
    return this.#heardAt.size;
  }
}
