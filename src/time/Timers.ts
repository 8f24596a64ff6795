import type { Clock } from "../breaker/Clock.ts";

/** A timer set by {@link Timers.setTimeout}; only the `Timers` that made it can clear it. */
export interface Timer {
  /** Brand: a timer is opaque to its holder. */
  readonly __timer?: never;
}

/**
 * Time as a seam (the clock and the timers that go with it): everything in the proxy that waits —
 * deadlines, idle times, health-check intervals, fleet heartbeats — reads time and sets timers through
 * one of these, so that tests step time instead of waiting for it (`test/support/ManualTimers.ts`).
 *
 * @example
 * const timer = timers.setTimeout(() => session.end(), idleMs);
 * timers.clearTimeout(timer); // used again: the wait starts over
 */
export interface Timers extends Clock {
  /** Milliseconds on a monotonic scale: only differences between readings mean anything. */
  now(): number;
  /**
   * Calls `callback` once, `ms` from now. `ms` is clamped to [1, {@link maxTimerMs}]: a computed delay
   * that is negative, NaN or beyond what node's timers hold never fires at once by overflow. The timer
   * never keeps the process alive on its own.
   */
  setTimeout(callback: () => void, ms: number): Timer;
  /** Stops `timer` if it has not fired; undefined and timers that fired already are ignored. */
  clearTimeout(timer: Timer | undefined): void;
}

/**
 * The longest delay node's timers hold (2^31 − 1 ms, about 24.8 days). A longer one is taken as 1 ms by
 * node — a huge configured duration would fire at once — so every delay is clamped to it, and config
 * refuses durations beyond it.
 */
export const maxTimerMs = 2_147_483_647;

/** `ms` as a delay node's timers keep: whole, at least 1, at most {@link maxTimerMs}. */
export function timerDelay(ms: number): number {
  if (!(ms >= 1)) return 1; // NaN and negatives too
  return ms >= maxTimerMs ? maxTimerMs : Math.ceil(ms);
}

/** Real time: `performance.now()` (never jumps with wall-clock changes) and node's unref'd timers. */
export const systemTimers: Timers = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    return setTimeout(callback, timerDelay(ms)).unref() as Timer;
  },
  clearTimeout(timer) {
    clearTimeout(timer as NodeJS.Timeout | undefined);
  },
};
