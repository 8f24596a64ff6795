import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitActivity } from "../../src/admin/CircuitActivity.ts";
import { type Circuit, CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import type { SettledReport } from "../../src/exchange/Settlement.ts";
import type { Outcome } from "../../src/index.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { ManualClock } from "../support/ManualClock.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

function circuit(): { registry: CircuitRegistry; circuit: Circuit } {
  const registry = new CircuitRegistry();
  return { registry, circuit: registry.create("a", { name: "a", clock: new ManualClock() }) };
}

const report = (outcome: Outcome): SettledReport => ({
  upstream: { name: "a" } as Upstream,
  outcome,
  tool: undefined,
  problem: undefined,
});

describe("CircuitActivity", () => {
  it("counts requests, failures and rejections per sample period, the period in progress last", () => {
    const { registry, circuit: a } = circuit();
    const activity = new CircuitActivity(registry, { sampleMs: 5_000 });
    activity.settled(report("success"));
    activity.settled(report("failure"));
    a.breaker.forceOpen();
    a.breaker.tryAcquire();
    activity.sample(Date.now());
    activity.settled(report("neutral"));
    const samples = activity.samples("a", Date.now());
    assert.deepEqual(
      samples.map((s) => [s.requests, s.failures, s.rejected]),
      [
        [2, 1, 1],
        [1, 0, 0],
      ],
    );
  });

  it("keeps a fixed number of samples and transitions", () => {
    const { registry, circuit: a } = circuit();
    const activity = new CircuitActivity(registry, { keep: 3, keepTransitions: 2 });
    for (let i = 0; i < 10; i++) activity.sample(i);
    a.breaker.forceOpen();
    a.breaker.disable();
    a.breaker.reset();
    assert.equal(activity.samples("a", 10).length, 4, "three closed samples and the one in progress");
    assert.deepEqual(
      activity.transitions("a").map((t) => t.to),
      ["disabled", "closed"],
    );
  });

  it("closes a sample every sampleMs while started, on stepped time", async () => {
    const { registry } = circuit();
    const timers = new ManualTimers();
    const activity = new CircuitActivity(registry, { sampleMs: 5_000, timers });
    activity.start();
    await timers.advance(4_999);
    assert.equal(activity.samples("a", Date.now()).length, 1, "only the period in progress");
    await timers.advance(1);
    await timers.advance(10_000);
    assert.equal(activity.samples("a", Date.now()).length, 4, "three closed samples and the one in progress");
    activity.stop();
    assert.equal(timers.pending, 0);
    await timers.advance(60_000);
    assert.equal(activity.samples("a", Date.now()).length, 4, "none once stopped");
  });

  it("charts clients' rejections only, not the circuit's refusals of health checks", () => {
    const { registry, circuit: a } = circuit();
    const activity = new CircuitActivity(registry);
    a.breaker.forceOpen();
    a.breaker.tryAcquire({ probe: true });
    activity.healthCheckRefused("a");
    a.breaker.tryAcquire();
    activity.sample(Date.now());
    a.breaker.tryAcquire({ probe: true });
    activity.healthCheckRefused("a");
    assert.deepEqual(
      activity.samples("a", Date.now()).map((s) => s.rejected),
      [1, 0],
    );
  });

  it("stops watching a circuit the registry lets go (a reload replaced it)", () => {
    const { registry, circuit: a } = circuit();
    const activity = new CircuitActivity(registry);
    registry.remove("a");
    a.breaker.forceOpen();
    assert.deepEqual(activity.transitions("a"), []);
  });

  it("watches circuits made after it was (tool circuits, reloads)", () => {
    const registry = new CircuitRegistry();
    const activity = new CircuitActivity(registry);
    const late = registry.create("late", { name: "late" });
    late.breaker.forceOpen();
    assert.deepEqual(
      activity.transitions("late").map((t) => t.to),
      ["forced_open"],
    );
  });
});
