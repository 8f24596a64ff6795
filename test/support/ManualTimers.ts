import type { Timer, Timers } from "../../src/time/Timers.ts";
import { timerDelay } from "../../src/time/Timers.ts";

interface Pending extends Timer {
  readonly due: number;
  readonly order: number;
  readonly callback: () => void;
}

/**
 * Time that moves only when a test moves it: a clock and the timers that go with it. `advance(ms)`
 * fires every timer due within `ms`, in the order they fall due (ties in the order they were set), with
 * the clock reading each one's due time as it fires, and lets promises settle between firings, so code
 * that awaits between two waits sees its second timer set before time goes on.
 */
export class ManualTimers implements Timers {
  #now: number;
  #order = 0;
  #pending: Pending[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const timer: Pending = { due: this.#now + timerDelay(ms), order: this.#order++, callback };
    this.#pending.push(timer);
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer === undefined) return;
    this.#pending = this.#pending.filter((pending) => pending !== timer);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#pending.length;
  }

  /** When the next timer is due, or undefined when none is set. */
  get nextDue(): number | undefined {
    return this.#next()?.due;
  }

  /** Moves time on by `ms`, firing each timer due on the way (see the class comment). */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#next();
      if (next === undefined || next.due > until) break;
      this.#pending = this.#pending.filter((pending) => pending !== next);
      this.#now = Math.max(this.#now, next.due);
      next.callback();
      await settle();
    }
    this.#now = until;
  }

  /** Moves time to the next timer's due time and fires it (and any due with it); false when none is set. */
  async runNext(): Promise<boolean> {
    const due = this.nextDue;
    if (due === undefined) return false;
    await this.advance(due - this.#now);
    return true;
  }

  #next(): Pending | undefined {
    let next: Pending | undefined;
    for (const timer of this.#pending)
      if (next === undefined || timer.due < next.due || (timer.due === next.due && timer.order < next.order))
        next = timer;
    return next;
  }
}

/** Lets pending promise callbacks (and one turn of I/O) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
