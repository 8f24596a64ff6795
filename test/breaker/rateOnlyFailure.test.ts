import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitBreaker, type StateChange } from "../../src/index.ts";
import { admit, settle } from "../support/calls.ts";
import { ManualClock } from "../support/ManualClock.ts";

function breakerWith(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock(1_000);
  const changes: StateChange[] = [];
  const breaker = new CircuitBreaker({ name: "test", clock, ...options });
  breaker.onStateChange((change) => changes.push(change));
  return { clock, breaker, changes };
}

/** Makes `count` calls that each end in a failure counted toward the rate only. */
function rateOnly(breaker: CircuitBreaker, count: number): void {
  for (let i = 0; i < count; i++) admit(breaker).failure({ consecutive: false });
}

describe("a failure that counts toward the rate only: failure({ consecutive: false })", () => {
  it("counts in the window but neither adds to the consecutive count nor resets it", () => {
    const { breaker } = breakerWith({ failureThreshold: 3, minimumRequests: Infinity });
    settle(breaker, 2, "failure");
    rateOnly(breaker, 4);
    const metrics = breaker.metrics();
    assert.deepEqual(
      [metrics.state, metrics.consecutiveFailures, metrics.totalRequests, metrics.failedRequests],
      ["closed", 2, 6, 6],
    );
    settle(breaker, 1, "failure");
    assert.equal(breaker.state, "open", "the count went on from 2: the rate-only failures did not reset it");
  });

  it("never opens the circuit by the consecutive rule, however many come in a row", () => {
    const { breaker } = breakerWith({ failureThreshold: 5, minimumRequests: 10 });
    rateOnly(breaker, 9);
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.metrics().consecutiveFailures, 0);
  });

  it("opens the circuit by the rate rule once the window holds minimumRequests calls", () => {
    const { breaker, changes } = breakerWith({ failureThreshold: 5, minimumRequests: 10 });
    settle(breaker, 5, "success");
    rateOnly(breaker, 4);
    assert.equal(breaker.state, "closed", "9 calls are below minimumRequests");
    rateOnly(breaker, 1); // 5 of 10 failed: 0.5 ≥ 0.5
    assert.equal(breaker.state, "open");
    assert.deepEqual(changes, [{ from: "closed", to: "open", reason: "failure_rate", at: 1_000 }]);
  });

  it("re-opens a half-open circuit when a probe fails so, without adding to the consecutive count", () => {
    const { clock, breaker, changes } = breakerWith({ failureThreshold: 1, openDuration: 1_000 });
    settle(breaker, 1, "failure");
    clock.advance(1_000);
    admit(breaker).failure({ consecutive: false });
    assert.equal(breaker.state, "open");
    assert.equal(changes.at(-1)?.reason, "probe_failed");
    assert.equal(breaker.metrics().retryAfterMs, 1_000, "the open time doubles up to maxOpenDuration");
    assert.equal(breaker.metrics().consecutiveFailures, 1);
  });

  it("counts a call slower than slowCallDuration as a full failure, whatever its answer", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 2, slowCallDuration: 100 });
    for (let i = 0; i < 2; i++) {
      const permit = admit(breaker);
      clock.advance(101);
      permit.failure({ consecutive: false });
    }
    assert.equal(breaker.state, "open");
  });

  it("leaves the consecutive count of a disabled circuit alone", () => {
    const { breaker } = breakerWith({ failureThreshold: 1 });
    breaker.disable();
    settle(breaker, 2, "failure");
    rateOnly(breaker, 3);
    const metrics = breaker.metrics();
    assert.deepEqual([metrics.failedRequests, metrics.consecutiveFailures], [5, 2]);
  });

  it("is an ordinary failure with { consecutive: true } or no options", () => {
    const { breaker } = breakerWith({ failureThreshold: 2, minimumRequests: Infinity });
    admit(breaker).failure({ consecutive: true });
    admit(breaker).failure({});
    assert.equal(breaker.state, "open");
  });
});
