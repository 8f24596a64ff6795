import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitActivity } from "../../src/admin/CircuitActivity.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { Upstream } from "../../src/proxy/Upstream.ts";
import type { ExchangeReport } from "../../src/proxy/UpstreamExchange.ts";
import { ManualClock } from "../support/ManualClock.ts";

function upstream(): Upstream {
  const { config } = loadConfig({ upstreams: ["http://127.0.0.1:1"] });
  return new Upstream(config.upstreams[0] as (typeof config.upstreams)[0], 1_000, new ManualClock());
}

const report = (u: Upstream, outcome: ExchangeReport["outcome"]): ExchangeReport => ({
  upstream: u,
  outcome,
  seconds: 0.01,
  headers: {},
});

describe("CircuitActivity", () => {
  it("counts requests, failures and rejections per sample period, the period in progress last", () => {
    const u = upstream();
    const activity = new CircuitActivity([u], { sampleMs: 5_000 });
    activity.exchange(report(u, "success"));
    activity.exchange(report(u, "failure"));
    u.breaker.forceOpen();
    u.breaker.tryAcquire();
    activity.sample(Date.now());
    activity.exchange(report(u, "neutral"));
    const samples = activity.samples(u.name, Date.now());
    assert.deepEqual(
      samples.map((s) => [s.requests, s.failures, s.rejected]),
      [
        [2, 1, 1],
        [1, 0, 0],
      ],
    );
    void u.destroy();
  });

  it("keeps a fixed number of samples and transitions", () => {
    const u = upstream();
    const activity = new CircuitActivity([u], { keep: 3, keepTransitions: 2 });
    for (let i = 0; i < 10; i++) activity.sample(i);
    for (const to of ["open", "half_open", "closed"] as const) {
      activity.transition(u.name, { from: "closed", to, reason: "reset", at: 0 }, 1);
    }
    assert.equal(activity.samples(u.name, 10).length, 4, "three closed samples and the one in progress");
    assert.deepEqual(
      activity.transitions(u.name).map((t) => t.to),
      ["half_open", "closed"],
    );
    void u.destroy();
  });
});
