import type { Timer, Timers } from "../time/Timers.ts";

/**
 * A task run at most once per `everyMs`, however often it is asked for: at once when it has not run
 * for that long, else once when the time is up (one run then stands for every ask meanwhile).
 */
export class Throttled {
  readonly #task: () => void;
  readonly #everyMs: number;
  readonly #timers: Timers;
  #ranAt = Number.NEGATIVE_INFINITY;
  #due: Timer | undefined;

  constructor(task: () => void, everyMs: number, timers: Timers) {
    this.#task = task;
    this.#everyMs = everyMs;
    this.#timers = timers;
  }

  run(): void {
    if (this.#due !== undefined) return;
    const wait = this.#ranAt + this.#everyMs - this.#timers.now();
    if (wait <= 0) this.#run();
    else this.#due = this.#timers.setTimeout(() => this.#run(), wait);
  }

  /** Drops a run still due. */
  cancel(): void {
    this.#timers.clearTimeout(this.#due);
    this.#due = undefined;
  }

  #run(): void {
    this.#due = undefined;
    this.#ranAt = this.#timers.now();
    this.#task();
  }
}
