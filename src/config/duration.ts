import { z } from "zod";
import { maxTimerMs } from "../time/Timers.ts";

/** How a duration key is written: its name ends in `_ms` or `_secs`. */
export type DurationUnit = "ms" | "secs";

export interface DurationOptions {
  /** Whole numbers only (the `_ms` keys that always were). */
  readonly whole?: boolean;
  /** 0 is allowed and means "none" (e.g. `answer_timeout_ms = 0`: no answer timeout). */
  readonly zeroMeansNone?: boolean;
}

/** The limit as the key is written, and in days (rounded down: 24.85… is "about 24.8 days"). */
const days = Math.floor(maxTimerMs / 8_640_000) / 10;
const limits = {
  ms: { max: maxTimerMs, words: `at most ${maxTimerMs} ms (about ${days} days)` },
  secs: {
    max: maxTimerMs / 1_000,
    words: `at most ${maxTimerMs / 1_000} s (${maxTimerMs} ms, about ${days} days)`,
  },
} as const;

/**
 * The schema of every duration key of the config (`…_ms`, `…_secs`): positive (or 0 where 0 means
 * none), finite, and at most {@link maxTimerMs} once in milliseconds. Node takes a longer timer as 1 ms,
 * so `request_timeout_ms = 3e9` would time out every request at once: such a value is refused at
 * start-up (exit 2, naming the key) rather than clamped in silence.
 *
 * @example
 * z.strictObject({ request_timeout_ms: duration("ms", { whole: true }).default(30_000) })
 */
export function duration(unit: DurationUnit, options: DurationOptions = {}) {
  const number = options.whole ? z.int() : z.number().finite();
  const atLeast = options.zeroMeansNone ? number.min(0) : options.whole ? number.min(1) : number.positive();
  const limit = limits[unit];
  return atLeast.max(limit.max, { error: limit.words });
}
