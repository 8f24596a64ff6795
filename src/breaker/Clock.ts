/**
 * Where the breaker reads time from, in milliseconds. Only differences between readings matter, so a
 * monotonic source is right; tests inject one they step by hand.
 *
 * @example
 * const clock = { t: 0, now() { return this.t; } };
 * const breaker = new CircuitBreaker({ clock });
 * clock.t += 30_000; // the open time has passed
 */
export interface Clock {
  now(): number;
}

/** The default clock: `performance.now()`, which never jumps with wall-clock adjustments. */
export const monotonicClock: Clock = { now: () => performance.now() };
