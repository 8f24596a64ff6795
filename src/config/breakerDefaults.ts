import type { BreakerSection, HealthCheckSection, ToolCircuitSection } from "./schema.ts";

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

/** A tool circuit's own keys when no level sets them (SPEC §3.2); its breaker keys are the upstream's. */
export const toolCircuitDefaults = { enabled: true, max_tools: 1_000 } as const;

/** A tool circuit section: the upstream's breaker keys, overridden, and its own keys. */
export type EffectiveToolCircuitSection = EffectiveBreakerSection &
  Omit<ToolCircuitSection, keyof typeof toolCircuitDefaults | keyof BreakerSection> & {
    -readonly [K in keyof typeof toolCircuitDefaults]-?: NonNullable<ToolCircuitSection[K]>;
  };

/** Health checks when no level sets them (SPEC §3.3): off. */
export const healthCheckDefaults = {
  kind: "none",
  interval_secs: 10,
  timeout_ms: 5_000,
  path: "/",
} as const satisfies HealthCheckSection;

export type EffectiveHealthCheckSection = {
  -readonly [K in keyof typeof healthCheckDefaults]-?: NonNullable<HealthCheckSection[K]>;
};
