import type { CircuitState } from "./CircuitState.ts";

/** A snapshot of one breaker, from {@link CircuitBreaker.metrics}. */
export interface CircuitMetrics {
  readonly state: CircuitState;
  /** Calls that ended within the sliding window (neutral outcomes are not calls here). */
  readonly totalRequests: number;
  /** Of those, the failures (slow calls included). */
  readonly failedRequests: number;
  /** Share of the window's calls that succeeded, 0–1; 1 when the window is empty. */
  readonly successRate: number;
  readonly consecutiveFailures: number;
  /** Calls rejected since the breaker was made; never reset. */
  readonly rejectedRequests: number;
  /** State changes since the breaker was made; never reset. */
  readonly transitions: number;
  /** Whole milliseconds until the next probe when `open`; `null` in every other state. */
  readonly retryAfterMs: number | null;
}
