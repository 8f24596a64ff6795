import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CheckResult } from "../../src/health/HealthCheck.ts";
import { HealthChecker } from "../../src/health/HealthChecker.ts";
import { CircuitBreaker } from "../../src/index.ts";
import { maxTimerMs } from "../../src/time/Timers.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

/** A checker on manual time (the breaker reads the same clock), counting its checks and refusals. */
function checker(breakerOptions: { openDuration?: number } = {}) {
  const timers = new ManualTimers(1_000_000);
  const breaker = new CircuitBreaker({
    name: "u",
    clock: timers,
    halfOpenProbesOnly: true,
    failureThreshold: 2,
    ...breakerOptions,
  });
  const counts = { checks: 0, refused: 0 };
  let healthy = true;
  const health = new HealthChecker({
    upstream: "u",
    breaker,
    check: async (): Promise<CheckResult> => {
      counts.checks++;
      return healthy ? { healthy: true } : { healthy: false, problem: "down" };
    },
    intervalMs: 10_000,
    timeoutMs: 5_000,
    timers,
    onRefused: () => counts.refused++,
  });
  return { timers, breaker, health, counts, fail: () => (healthy = false) };
}

describe("HealthChecker, on stepped time (SPEC §3.3)", () => {
  it("checks a closed circuit once per interval", async () => {
    const { timers, health, counts } = checker();
    health.start();
    await timers.advance(9_999);
    assert.equal(counts.checks, 0);
    await timers.advance(1);
    assert.equal(counts.checks, 1);
    await timers.advance(30_000);
    assert.equal(counts.checks, 4);
    health.stop();
    assert.equal(timers.pending, 0, "stopping clears its timer");
  });

  it("opens the circuit after failed checks, and checks no more while it is open", async () => {
    const { timers, breaker, health, counts, fail } = checker({ openDuration: 60_000 });
    fail();
    health.start();
    await timers.advance(20_000);
    assert.equal(breaker.state, "open");
    assert.equal(counts.checks, 2);
    await timers.advance(59_999);
    assert.equal(counts.checks, 2, "none while open");
    health.stop();
  });

  it("waits out an open time beyond node's timers (3e9 ms) instead of checking every millisecond", async () => {
    const { timers, breaker, health, counts } = checker({ openDuration: 3e9 });
    breaker.openFor(3e9);
    health.start();
    assert.equal(
      timers.nextDue,
      timers.now() + maxTimerMs,
      "the wait is clamped to 2^31-1 ms, not taken as 1 ms",
    );
    await timers.advance(60_000);
    assert.deepEqual(counts, { checks: 0, refused: 0 });
    assert.equal(breaker.metrics().rejectedRequests, 0);
    await timers.advance(3e9 - 60_001);
    assert.equal(counts.checks, 0);
    await timers.advance(1);
    assert.equal(counts.checks, 1, "the first check once the open time is up");
    health.stop();
  });
});
