import type { CircuitState } from "./CircuitState.ts";
import type { FailureOptions } from "./FailureOptions.ts";

/** How an admitted call ended: `neutral` is neither (a 4xx, a caller that went away) and moves no counter. */
export type Outcome = "success" | "failure" | "neutral";

/**
 * The right to make one call. Settle it exactly once with its outcome; a second settle is ignored.
 *
 * @example
 * const a = breaker.tryAcquire();
 * if (!a.admitted) return reply503(a.retryAfterMs);
 * try { const res = await call(); res.ok ? a.success() : a.failure(); } catch { a.failure(); }
 */
export interface Permit {
  readonly admitted: true;
  success(): void;
  /** `{ consecutive: false }`: counts toward the failure rate only (see {@link FailureOptions}). */
  failure(options?: FailureOptions): void;
  neutral(): void;
}

/** The answer of a circuit that does not admit the call. Nothing was thrown and no stack was captured. */
export interface Rejection {
  readonly admitted: false;
  /** The state that rejected the call: `open`, `half_open` (all probe slots taken, or only probes admitted) or `forced_open`. */
  readonly state: CircuitState;
  /** Whole milliseconds (≥ 1) until the circuit may admit a call; an estimate when forced open. */
  readonly retryAfterMs: number;
}

/** What {@link CircuitBreaker.tryAcquire} answers: a permit, or a rejection. */
export type Acquisition = Permit | Rejection;
