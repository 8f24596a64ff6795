import type { Clock } from "./Clock.ts";

/**
 * Readings of a {@link Clock} that never go back. A source that steps back (an injected clock set
 * back, a wall clock corrected) counts as no time passing at that instant, and time goes on from
 * there: an open circuit is neither lengthened nor cut short by the step, and neither is a probe slot.
 */
export class SteadyClock {
  readonly #source: Clock;
  #last: number;
  /** What backward steps have added up to: added to every later reading. */
  #skew = 0;

  constructor(source: Clock) {
    this.#source = source;
    this.#last = source.now();
  }

  now(): number {
    const reading = this.#source.now() + this.#skew;
    if (reading >= this.#last) {
      this.#last = reading;
      return reading;
    }
    this.#skew += this.#last - reading;
    return this.#last;
  }
}
