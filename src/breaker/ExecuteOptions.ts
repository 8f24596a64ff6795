import type { AcquireOptions } from "./AcquireOptions.ts";
import type { Verdict } from "./CircuitBreakerOptions.ts";

/** Options of one `CircuitBreaker.execute` call (`probe`: see {@link AcquireOptions}). */
export interface ExecuteOptions extends AcquireOptions {
  /** The caller's cancellation; handed to the wrapped function. A call abandoned through it is neutral. */
  signal?: AbortSignal;
  /** Overrides the breaker's `isFailure` for this call. */
  isFailure?: (error: unknown) => Verdict;
  /** Overrides the breaker's `isResultFailure` for this call. */
  isResultFailure?: (value: unknown) => Verdict;
}
