import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitBreaker } from "../../src/index.ts";
import { settle } from "../support/calls.ts";
import { ManualClock } from "../support/ManualClock.ts";

function rateBreaker(clock: ManualClock, minimumRequests: number) {
  return new CircuitBreaker({ clock, failureThreshold: Infinity, minimumRequests, windowDuration: 10_000 });
}

describe("the sliding window", () => {
  it("forgets old failures after an idle gap longer than the window, on the very next call", () => {
    // A window that advances one bucket per call would still hold the three old failures here, and
    // the fourth call would find 4 of 4 failed and open the circuit.
    const clock = new ManualClock();
    const breaker = rateBreaker(clock, 4);
    settle(breaker, 3, "failure");
    clock.advance(60_000);
    settle(breaker, 1, "failure");
    assert.equal(breaker.state, "closed");
    assert.deepEqual([breaker.metrics().totalRequests, breaker.metrics().failedRequests], [1, 1]);
  });

  it("slides bucket by bucket instead of forgetting everything at once", () => {
    const clock = new ManualClock();
    const breaker = rateBreaker(clock, Infinity);
    settle(breaker, 1, "failure"); // bucket 0 (0–1 s)
    clock.advance(5_000);
    settle(breaker, 2, "success"); // bucket 5
    clock.advance(4_999); // t = 9 999: still bucket 9, both buckets in the window
    assert.equal(breaker.metrics().totalRequests, 3);
    clock.advance(1); // t = 10 000: bucket 0 slides out, bucket 5 stays
    assert.deepEqual([breaker.metrics().totalRequests, breaker.metrics().failedRequests], [2, 0]);
    clock.advance(5_000); // bucket 5 slides out too
    assert.equal(breaker.metrics().totalRequests, 0);
    assert.equal(breaker.metrics().successRate, 1);
  });

  it("opens on the rate of recent calls only", () => {
    const clock = new ManualClock();
    const breaker = rateBreaker(clock, 4);
    settle(breaker, 3, "failure");
    clock.advance(9_000);
    settle(breaker, 3, "success"); // window: 3 failed of 6
    clock.advance(1_000); // the failures slide out: 0 of 3
    settle(breaker, 1, "failure"); // 1 of 4 = 0.25 < 0.5
    settle(breaker, 1, "failure"); // 2 of 5 = 0.4 < 0.5
    assert.equal(breaker.state, "closed");
    settle(breaker, 1, "failure"); // 3 of 6 ≥ 0.5
    assert.equal(breaker.state, "open");
  });

  it("does not count neutral outcomes as calls", () => {
    const clock = new ManualClock();
    const breaker = rateBreaker(clock, 2);
    settle(breaker, 1, "failure");
    settle(breaker, 10, "neutral");
    assert.deepEqual([breaker.metrics().totalRequests, breaker.state], [1, "closed"]);
  });

  it("reports the success rate of the window as a fraction", () => {
    const clock = new ManualClock();
    const breaker = rateBreaker(clock, Infinity);
    settle(breaker, 3, "success");
    settle(breaker, 1, "failure");
    assert.equal(breaker.metrics().successRate, 0.75);
  });
});
