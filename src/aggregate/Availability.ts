import type { Timer, Timers } from "../time/Timers.ts";

/**
 * Whether an aggregated server is available, and since when not (SPEC §7.2): a server whose circuits all
 * refuse, or whose list fetch failed or timed out, is unavailable since then; its last good lists stay
 * listed (cached) for the grace time, then are left out. A grace timer, not a client's list, ends the
 * grace, so the change is told when it happens. Unavailable again while unavailable keeps the first
 * time: flapping does not stretch the grace.
 */
export class Availability {
  readonly #timers: Timers;
  readonly #changed: () => void;
  #graceMs: number;
  #since: number | undefined;
  #graceOver = false;
  #timer: Timer | undefined;

  constructor(timers: Timers, graceMs: number, changed: () => void) {
    this.#timers = timers;
    this.#graceMs = graceMs;
    this.#changed = changed;
  }

  /** A new grace time, for unavailability from now on (a running grace keeps its end). */
  set graceMs(graceMs: number) {
    this.#graceMs = graceMs;
  }

  get isAvailable(): boolean {
    return this.#since === undefined;
  }

  /** Unavailable and past the grace time (or with none): its lists are left out. */
  get graceOver(): boolean {
    return this.#graceOver;
  }

  /** While unavailable within grace: how long its lists stay listed. */
  graceLeftMs(): number | undefined {
    if (this.#since === undefined || this.#graceOver) return undefined;
    return Math.max(0, this.#since + this.#graceMs - this.#timers.now());
  }

  /** The server stopped serving its lists (now, unless it had already). */
  markUnavailable(): void {
    if (this.#since !== undefined) return;
    this.#since = this.#timers.now();
    if (this.#graceMs === 0) this.#graceOver = true;
    else
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = undefined;
        this.#graceOver = true;
        this.#changed();
      }, this.#graceMs);
    this.#changed();
  }

  /** The server serves its lists again. */
  markAvailable(): void {
    if (this.#since === undefined) return;
    this.#since = undefined;
    this.#graceOver = false;
    this.close();
    this.#changed();
  }

  /** Stops the grace timer. */
  close(): void {
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
