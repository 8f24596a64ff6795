import assert from "node:assert/strict";
import type { AcquireOptions, CircuitBreaker, Permit } from "../../src/index.ts";

/** Acquires a permit, failing the test when the circuit rejects. */
export function admit(breaker: CircuitBreaker, options?: AcquireOptions): Permit {
  const acquisition = breaker.tryAcquire(options);
  assert.equal(acquisition.admitted, true, `expected ${breaker.name} to admit, it is ${breaker.state}`);
  return acquisition as Permit;
}

/** Makes `count` calls that each end in `outcome`. */
export function settle(
  breaker: CircuitBreaker,
  count: number,
  outcome: "success" | "failure" | "neutral",
): void {
  for (let i = 0; i < count; i++) admit(breaker)[outcome]();
}
