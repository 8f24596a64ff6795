/**
 * Breakwater's circuit breaker, usable on its own:
 *
 * @example
 * import { CircuitBreaker, isCircuitOpenError } from "breakwater";
 * const breaker = new CircuitBreaker({ name: "payments" });
 * const value = await breaker.execute((signal) => fetch(url, { signal }));
 */
export type { AcquireOptions } from "./breaker/AcquireOptions.ts";
export type { Acquisition, Outcome, Permit, Rejection } from "./breaker/Acquisition.ts";
export { BreakwaterError } from "./breaker/BreakwaterError.ts";
export { CircuitBreaker } from "./breaker/CircuitBreaker.ts";
export type { CircuitBreakerOptions, Verdict } from "./breaker/CircuitBreakerOptions.ts";
export type { CircuitMetrics } from "./breaker/CircuitMetrics.ts";
export { CircuitOpenError, isCircuitOpenError } from "./breaker/CircuitOpenError.ts";
export type { ChangeOptions, CircuitState, StateChange, TransitionReason } from "./breaker/CircuitState.ts";
export type { Clock } from "./breaker/Clock.ts";
export type { ExecuteOptions } from "./breaker/ExecuteOptions.ts";
export { ErrorCode } from "./breaker/errorCodes.ts";
export type { FailureOptions } from "./breaker/FailureOptions.ts";
