import type { Clock } from "./Clock.ts";

/**
 * How an outcome is judged: `true` is a failure, `false` a success, `"neutral"` neither, and
 * `"rate_only"` a failure that counts toward the failure rate only (`failure({ consecutive: false })`).
 */
export type Verdict = boolean | "neutral" | "rate_only";

/** Options of {@link CircuitBreaker}; every one is optional. Durations are in milliseconds. */
export interface CircuitBreakerOptions {
  /** Shown in errors and events. Default `"circuit"`. */
  name?: string;
  /** Consecutive failures that open the circuit. Integer ≥ 1, or `Infinity` to disable. Default 5. */
  failureThreshold?: number;
  /** Failure share of the window that opens the circuit (compared with ≥). In (0, 1]. Default 0.5. */
  failureRateThreshold?: number;
  /** Length of the sliding window judged by the rate rule. Default 60 000. */
  windowDuration?: number;
  /** Calls the window must hold before its rate is judged. Integer ≥ 1, or `Infinity`. Default 10. */
  minimumRequests?: number;
  /** Time spent open before a probe is admitted. Default 30 000. */
  openDuration?: number;
  /** Probe successes in half-open that close the circuit. Integer ≥ 1. Default 3. */
  successThreshold?: number;
  /** Probes in flight at once in half-open; further calls are rejected at once. Integer ≥ 1. Default 1. */
  halfOpenMaxConcurrent?: number;
  /** Upper bound of the open time, which doubles on each re-open from half-open. Default `openDuration`. */
  maxOpenDuration?: number;
  /** A success slower than this counts as a failure. Default: off. */
  slowCallDuration?: number;
  /** Judges a thrown error in `execute`. Default: every error is a failure. */
  isFailure?: (error: unknown) => Verdict;
  /** Judges a returned value in `execute`. Default: every value is a success. */
  isResultFailure?: (value: unknown) => Verdict;
  /**
   * Consulted before each half-open probe is admitted: `false` rejects the call as if every probe slot
   * were taken. A fleet supplies one that is `true` only while this replica holds the fleet-wide probe
   * lease, so that N replicas do not send N probes to a recovering upstream. Default: always `true`.
   */
  probeGate?: () => boolean;
  /**
   * Whether half-open admits only calls acquired as probes (`tryAcquire({ probe: true })`): ordinary
   * calls are then rejected, fast, until the probes have closed or re-opened the circuit. For a caller
   * that probes on its own (a health check), so that no real call is risked on a recovering service.
   * Default `false`: half-open admits any call as a probe.
   */
  halfOpenProbesOnly?: boolean;
  /** Time source. Default: a monotonic clock. A step back never lengthens the open time by the step. */
  clock?: Clock;
}
