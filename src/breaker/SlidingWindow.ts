/**
 * Calls and failures over the last `duration` ms, for the failure-rate rule: a ring of equal time
 * buckets with running totals. Recording is O(1); moving forward over an idle gap clears at most every
 * bucket once, so a gap of any length costs O(buckets) and forgets everything older than the window.
 *
 * The window holds the current (partly elapsed) bucket and the `buckets - 1` before it, so it covers
 * between `duration × (buckets - 1) / buckets` and `duration` of history, and never anything older.
 */
export class SlidingWindow {
  readonly #bucketDuration: number;
  readonly #buckets: number;
  /** Per bucket, calls then failures, flat: [calls₀, failures₀, calls₁, failures₁, …] (small integers). */
  readonly #counts: number[];
  /** `floor(time / bucketDuration)` of the current bucket; the ring slot of that bucket is `#cursor`. */
  #epoch: number;
  #cursor = 0;
  #calls = 0;
  #failures = 0;

  constructor(duration: number, now: number, buckets = 10) {
    this.#bucketDuration = duration / buckets;
    this.#buckets = buckets;
    this.#counts = new Array<number>(buckets * 2).fill(0);
    this.#epoch = Math.floor(now / this.#bucketDuration);
  }

  /** Calls recorded in the window, as of the last `advance`/`record`. */
  get calls(): number {
    return this.#calls;
  }

  /** Failed calls recorded in the window, as of the last `advance`/`record`. */
  get failures(): number {
    return this.#failures;
  }

  /** Records one call that ended at `now`. */
  record(now: number, failed: boolean): void {
    this.advance(now);
    const slot = this.#cursor * 2;
    this.#counts[slot] = (this.#counts[slot] as number) + 1;
    this.#calls++;
    if (failed) {
      this.#counts[slot + 1] = (this.#counts[slot + 1] as number) + 1;
      this.#failures++;
    }
  }

  /** Moves the window to `now`, dropping the buckets that have slid out. A clock that steps back is ignored. */
  advance(now: number): void {
    const epoch = Math.floor(now / this.#bucketDuration);
    if (epoch <= this.#epoch) return;
    const steps = Math.min(epoch - this.#epoch, this.#buckets);
    for (let i = 0; i < steps; i++) {
      this.#cursor = this.#cursor + 1 === this.#buckets ? 0 : this.#cursor + 1;
      const slot = this.#cursor * 2;
      this.#calls -= this.#counts[slot] as number;
      this.#failures -= this.#counts[slot + 1] as number;
      this.#counts[slot] = 0;
      this.#counts[slot + 1] = 0;
    }
    this.#epoch = epoch;
  }

  /** Forgets every call, keeping the current position in time. */
  clear(): void {
    this.#counts.fill(0);
    this.#calls = 0;
    this.#failures = 0;
  }
}
