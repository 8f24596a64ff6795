import type { Outcome, Permit } from "./Acquisition.ts";
import type { Verdict } from "./CircuitBreakerOptions.ts";
import { neverAbortedSignal } from "./neverAbortedSignal.ts";

type VerdictOf = ((subject: unknown) => Verdict) | undefined;

/**
 * Runs `fn` under an admitted `permit` and settles the permit with how it ended — the body of
 * `CircuitBreaker.execute`. A thrown error is a failure and a returned value a success, unless the
 * verdict functions say otherwise; a call that fails while `signal` is aborted was abandoned by its
 * caller and is neutral. Always answers a promise, even when `fn` or a verdict function throws at once.
 */
export function runWithPermit<T>(
  permit: Permit,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  signal: AbortSignal | undefined,
  isFailure: VerdictOf,
  isResultFailure: VerdictOf,
): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = fn(signal ?? neverAbortedSignal);
  } catch (error) {
    settleError(permit, error, signal, isFailure);
    return Promise.reject(error);
  }
  if (!isPromiseLike(result)) {
    const judged = judge(permit, isResultFailure, result, "success");
    return judged === undefined ? Promise.resolve(result) : Promise.reject(judged.error);
  }
  return Promise.resolve(result).then(
    (value) => {
      const judged = judge(permit, isResultFailure, value, "success");
      if (judged !== undefined) throw judged.error;
      return value;
    },
    (error: unknown) => {
      settleError(permit, error, signal, isFailure);
      throw error;
    },
  );
}

/** Settles the permit of a call that threw: neutral when its caller had given up on it. */
function settleError(
  permit: Permit,
  error: unknown,
  signal: AbortSignal | undefined,
  isFailure: VerdictOf,
): void {
  if (signal?.aborted) permit.neutral();
  else judge(permit, isFailure, error, "failure");
}

/**
 * Settles `permit` as `verdictOf` judges `subject`. A verdict function that throws counts the call as
 * a failure; its error is returned, never thrown, so that the caller always answers a promise.
 */
function judge(
  permit: Permit,
  verdictOf: VerdictOf,
  subject: unknown,
  fallback: Outcome,
): { error: unknown } | undefined {
  if (verdictOf === undefined) {
    permit[fallback]();
    return undefined;
  }
  let verdict: Verdict;
  try {
    verdict = verdictOf(subject);
  } catch (error) {
    permit.failure();
    return { error };
  }
  if (verdict === "rate_only") permit.failure(rateOnly);
  else permit[verdict === "neutral" ? "neutral" : verdict ? "failure" : "success"]();
  return undefined;
}

const rateOnly = { consecutive: false } as const;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
