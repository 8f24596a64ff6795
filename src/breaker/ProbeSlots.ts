/**
 * The half-open probe slots: at most `size` probes in flight. A slot held longer than `expiry` ms is
 * free again, so that a probe that never settles cannot wedge the circuit; each occupant has an id so
 * that the late settle of an expired probe cannot free the slot of the probe that took it over.
 */
export class ProbeSlots {
  readonly #expiry: number;
  readonly #takenAt: number[];
  /** Id of the probe in each slot; 0 when free. */
  readonly #owner: number[];
  #nextId = 1;

  constructor(size: number, expiry: number) {
    this.#expiry = expiry;
    this.#takenAt = new Array<number>(size).fill(0);
    this.#owner = new Array<number>(size).fill(0);
  }

  /**
   * Takes a free (or expired) slot at `now`; its index, or -1 when every slot is busy. A slot taken
   * "after" `now` (the clock stepped back since) counts as expired: a step back may free a hung
   * probe's slot early, never keep it for as long as the step.
   */
  take(now: number): number {
    for (let slot = 0; slot < this.#owner.length; slot++) {
      const age = now - (this.#takenAt[slot] as number);
      if (this.#owner[slot] === 0 || age >= this.#expiry || age < 0) {
        this.#owner[slot] = this.#nextId++;
        this.#takenAt[slot] = now;
        return slot;
      }
    }
    return -1;
  }

  /** Id of the probe now holding `slot`. */
  ownerOf(slot: number): number {
    return this.#owner[slot] as number;
  }

  /** Frees `slot` if probe `id` still holds it. */
  release(slot: number, id: number): void {
    if (this.#owner[slot] === id) this.#owner[slot] = 0;
  }

  /** Milliseconds from `now` until the first busy slot expires (only meaningful when all are busy). */
  nextFreeIn(now: number): number {
    let earliest = Infinity;
    for (let slot = 0; slot < this.#takenAt.length; slot++) {
      earliest = Math.min(earliest, (this.#takenAt[slot] as number) + this.#expiry);
    }
    return earliest - now;
  }
}
