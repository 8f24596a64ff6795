import type { Verdict } from "./CircuitBreakerOptions.ts";

/** Options of one `CircuitBreaker.execute` call. */
export interface ExecuteOptions {
  /** The caller's cancellation; handed to the wrapped function. A call abandoned through it is neutral. */
  signal?: AbortSignal;
  /** Overrides the breaker's `isFailure` for this call. */
  isFailure?: (error: unknown) => Verdict;
  /** Overrides the breaker's `isResultFailure` for this call. */
  isResultFailure?: (value: unknown) => Verdict;
}
