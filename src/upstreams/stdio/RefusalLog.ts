import { systemTimers, type Timer, type Timers } from "../../time/Timers.ts";

/**
 * Refusals of one upstream, told at most once per interval: the first at once, the ones after it
 * within the interval counted, and the count told when the interval ends (then a new interval starts;
 * one without refusals ends quietly). A client retrying against a full upstream cannot flood the log,
 * and no refusal goes uncounted.
 */
export class RefusalLog {
  readonly #tell: (suppressed: number) => void;
  readonly #intervalMs: number;
  readonly #timers: Timers;
  /** Set while an interval runs: refusals until it ends are counted, not told. */
  #interval: Timer | undefined;
  #suppressed = 0;
  #closed = false;

  /** `tell(suppressed)` writes one line; `suppressed` counts the refusals since the line before it. */
  constructor(tell: (suppressed: number) => void, intervalMs: number, timers: Timers = systemTimers) {
    this.#tell = tell;
    this.#intervalMs = intervalMs;
    this.#timers = timers;
  }

  refused(): void {
    if (this.#closed) return; // sessions still waiting when the upstream closes: no longer news
    if (this.#interval !== undefined) {
      this.#suppressed++;
      return;
    }
    this.#tell(0);
    this.#start();
  }

  /** Tells what is still counted, and tells (and times) nothing more. */
  close(): void {
    this.#closed = true;
    this.#timers.clearTimeout(this.#interval);
    this.#interval = undefined;
    this.#flush();
  }

  #start(): void {
    this.#interval = this.#timers.setTimeout(() => {
      this.#interval = undefined;
      if (this.#flush()) this.#start();
    }, this.#intervalMs);
  }

  /** Tells the count, if there is one; whether there was. */
  #flush(): boolean {
    if (this.#suppressed === 0) return false;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#tell(suppressed);
    return true;
  }
}
