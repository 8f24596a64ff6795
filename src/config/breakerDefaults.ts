import type { BreakerSection } from "./schema.ts";

/** The circuit-breaker keys every upstream ends up with when neither level sets them (SPEC §1). */
export const breakerDefaults = {
  failure_threshold: 5,
  failure_rate_threshold: 0.5,
  window_duration_secs: 60,
  timeout_duration_secs: 30,
  success_threshold: 3,
  minimum_requests: 10,
  half_open_max_requests: 1,
  failure_statuses: ["5xx"],
} as const satisfies BreakerSection;

/** A breaker section with every key that has a default filled in. */
export type EffectiveBreakerSection = Omit<BreakerSection, keyof typeof breakerDefaults> & {
  -readonly [K in keyof typeof breakerDefaults]-?: NonNullable<BreakerSection[K]>;
};
