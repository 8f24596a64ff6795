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

describe("closed → open", () => {
  it("opens after five consecutive failures by default", () => {
    const { breaker, changes } = breakerWith({ minimumRequests: Infinity });
    settle(breaker, 4, "failure");
    assert.equal(breaker.state, "closed");
    settle(breaker, 1, "failure");
    assert.equal(breaker.state, "open");
    assert.deepEqual(changes, [{ from: "closed", to: "open", reason: "consecutive_failures", at: 1_000 }]);
  });

  it("starts the consecutive count again after a success", () => {
    const { breaker } = breakerWith({ failureThreshold: 3, minimumRequests: Infinity });
    settle(breaker, 2, "failure");
    settle(breaker, 1, "success");
    settle(breaker, 2, "failure");
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.metrics().consecutiveFailures, 2);
  });

  it("leaves the consecutive count alone on a neutral outcome", () => {
    const { breaker } = breakerWith({ failureThreshold: 3, minimumRequests: Infinity });
    settle(breaker, 2, "failure");
    settle(breaker, 5, "neutral");
    settle(breaker, 1, "failure");
    assert.equal(breaker.state, "open");
  });

  it("opens when the failure rate reaches the threshold over at least minimumRequests calls", () => {
    const { breaker, changes } = breakerWith({ failureThreshold: 100, minimumRequests: 10 });
    for (let i = 0; i < 4; i++) {
      settle(breaker, 1, "success");
      settle(breaker, 1, "failure");
    }
    settle(breaker, 1, "success");
    assert.equal(breaker.state, "closed", "9 calls are below minimumRequests");
    settle(breaker, 1, "failure"); // 5 of 10 failed: 0.5 ≥ 0.5
    assert.equal(breaker.state, "open");
    assert.equal(changes[0]?.reason, "failure_rate");
  });

  it("does not open below the rate threshold", () => {
    const { breaker } = breakerWith({
      failureThreshold: 100,
      minimumRequests: 10,
      failureRateThreshold: 0.6,
    });
    for (let i = 0; i < 10; i++) settle(breaker, 1, i % 2 === 0 ? "success" : "failure");
    assert.equal(breaker.state, "closed");
  });

  it("counts a success slower than slowCallDuration as a failure", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 2, slowCallDuration: 100 });
    for (let i = 0; i < 2; i++) {
      const permit = admit(breaker);
      clock.advance(101);
      permit.success();
    }
    assert.equal(breaker.state, "open");
  });

  it("counts a success exactly at slowCallDuration as a success", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, slowCallDuration: 100 });
    const permit = admit(breaker);
    clock.advance(100);
    permit.success();
    assert.equal(breaker.state, "closed");
  });
});

describe("open", () => {
  it("rejects at once with the time left", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 30_000 });
    settle(breaker, 1, "failure");
    clock.advance(10_000);
    assert.deepEqual(breaker.tryAcquire(), { admitted: false, state: "open", retryAfterMs: 20_000 });
    assert.equal(breaker.metrics().retryAfterMs, 20_000);
    assert.equal(breaker.metrics().rejectedRequests, 1);
  });

  it("rounds the wait up to whole milliseconds, never below 1", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 1_000 });
    settle(breaker, 1, "failure");
    clock.advance(999.5);
    const rejection = breaker.tryAcquire();
    assert.equal(rejection.admitted, false);
    assert.equal(!rejection.admitted && rejection.retryAfterMs, 1);
  });

  it("reports half_open as soon as the open time has passed, before any call", () => {
    const { clock, breaker, changes } = breakerWith({ failureThreshold: 1, openDuration: 5_000 });
    settle(breaker, 1, "failure");
    clock.advance(4_999);
    assert.equal(breaker.state, "open");
    clock.advance(5_000);
    assert.equal(breaker.state, "half_open");
    assert.deepEqual(changes[1], {
      from: "open",
      to: "half_open",
      reason: "open_duration_elapsed",
      at: 6_000,
    });
    assert.equal(breaker.metrics().retryAfterMs, null);
  });
});

describe("half-open", () => {
  function halfOpen(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
    const setup = breakerWith({ failureThreshold: 1, openDuration: 1_000, ...options });
    settle(setup.breaker, 1, "failure");
    setup.clock.advance(1_000);
    return setup;
  }

  it("admits one probe at a time by default and rejects the rest at once", () => {
    const { breaker } = halfOpen();
    const probe = admit(breaker);
    const rejection = breaker.tryAcquire();
    assert.equal(rejection.admitted, false);
    assert.equal(!rejection.admitted && rejection.state, "half_open");
    probe.success();
    admit(breaker);
  });

  it("admits up to halfOpenMaxConcurrent probes at once", () => {
    const { breaker } = halfOpen({ halfOpenMaxConcurrent: 3 });
    for (let i = 0; i < 3; i++) admit(breaker);
    assert.equal(breaker.tryAcquire().admitted, false);
  });

  it("closes after successThreshold successful probes, with the window and counters cleared", () => {
    const { breaker, changes } = halfOpen({ successThreshold: 3 });
    settle(breaker, 2, "success");
    assert.equal(breaker.state, "half_open");
    settle(breaker, 1, "success");
    assert.equal(breaker.state, "closed");
    assert.equal(changes.at(-1)?.reason, "probes_succeeded");
    const metrics = breaker.metrics();
    assert.equal(metrics.totalRequests, 0);
    assert.equal(metrics.consecutiveFailures, 0);
    assert.equal(metrics.transitions, 3);
  });

  it("re-opens on one failed probe with the open time doubled, up to maxOpenDuration", () => {
    const { clock, breaker, changes } = halfOpen({ maxOpenDuration: 3_000 });
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      settle(breaker, 1, "failure");
      const rejection = breaker.tryAcquire();
      waits.push(rejection.admitted ? -1 : rejection.retryAfterMs);
      clock.advance(10_000);
    }
    assert.deepEqual(waits, [2_000, 3_000, 3_000]);
    assert.equal(changes.filter((c) => c.reason === "probe_failed").length, 3);
  });

  it("starts the doubling again once the circuit has closed", () => {
    const { clock, breaker } = halfOpen({ maxOpenDuration: 8_000, successThreshold: 1 });
    settle(breaker, 1, "failure"); // re-open for 2 s
    clock.advance(2_000);
    settle(breaker, 1, "success"); // closed
    settle(breaker, 1, "failure"); // open again, from closed
    const rejection = breaker.tryAcquire();
    assert.equal(!rejection.admitted && rejection.retryAfterMs, 1_000);
  });

  it("frees the probe slot on a neutral outcome without counting it", () => {
    const { breaker } = halfOpen({ successThreshold: 1 });
    admit(breaker).neutral();
    assert.equal(breaker.state, "half_open");
    admit(breaker).success();
    assert.equal(breaker.state, "closed");
  });

  it("frees the slot of a probe that hangs longer than the open duration", () => {
    const { clock, breaker } = halfOpen();
    const hung = admit(breaker);
    clock.advance(999);
    const rejection = breaker.tryAcquire();
    assert.equal(!rejection.admitted && rejection.retryAfterMs, 1);
    clock.advance(1);
    const next = admit(breaker);
    hung.failure(); // too late: counted, but neither re-opens nor frees the new probe's slot
    assert.equal(breaker.state, "half_open");
    assert.equal(breaker.tryAcquire().admitted, false);
    next.success();
    assert.equal(breaker.metrics().failedRequests, 2);
  });
});

describe("late outcomes", () => {
  it("does not let a success admitted before the circuit opened close it", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 1_000, successThreshold: 1 });
    const early = admit(breaker);
    settle(breaker, 1, "failure");
    clock.advance(1_000);
    assert.equal(breaker.state, "half_open");
    early.success();
    assert.equal(breaker.state, "half_open");
    assert.equal(breaker.metrics().totalRequests, 1, "the late success stays out of the window");
  });

  it("does not let a failure admitted before the circuit closed re-open it", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 1_000, successThreshold: 1 });
    const early = admit(breaker);
    settle(breaker, 1, "failure");
    clock.advance(1_000);
    settle(breaker, 1, "success");
    assert.equal(breaker.state, "closed");
    early.failure();
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.metrics().failedRequests, 0);
    assert.equal(breaker.metrics().consecutiveFailures, 0);
  });

  it("does not let late failures tip a freshly closed circuit's failure rate", () => {
    // 14 calls in flight; 5 fail and open the circuit; probes close it; the other 9 then fail late
    const { clock, breaker, changes } = breakerWith({
      failureThreshold: 5,
      failureRateThreshold: 0.5,
      minimumRequests: 10,
      openDuration: 1_000,
      successThreshold: 3,
    });
    const inFlight = Array.from({ length: 14 }, () => admit(breaker));
    for (const permit of inFlight.slice(0, 5)) permit.failure();
    assert.equal(breaker.state, "open");
    clock.advance(1_000);
    settle(breaker, 3, "success");
    assert.equal(breaker.state, "closed");
    for (const permit of inFlight.slice(5)) permit.failure();
    settle(breaker, 6, "success");
    settle(breaker, 1, "failure");
    assert.equal(breaker.state, "closed", "one new failure in ten calls is no failure rate of 50%");
    assert.deepEqual(
      changes.map((c) => c.to),
      ["open", "half_open", "closed"],
    );
    assert.deepEqual([breaker.metrics().totalRequests, breaker.metrics().failedRequests], [7, 1]);
  });
});

describe("a clock that steps back", () => {
  it("lengthens neither the open time nor the wait it announces by the step", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 30_000 });
    settle(breaker, 1, "failure");
    clock.advance(-3_600_000); // set back by an hour
    const rejection = breaker.tryAcquire();
    assert.equal(rejection.admitted, false);
    assert.equal(rejection.admitted === false && rejection.retryAfterMs, 30_000);
    clock.advance(30_000);
    assert.equal(breaker.state, "half_open", "30 s after the failure, whatever the step");
  });

  it("does not keep a probe slot for as long as the step", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 1_000 });
    settle(breaker, 1, "failure");
    clock.advance(1_000);
    admit(breaker); // a probe that hangs
    clock.advance(-3_600_000);
    assert.equal(breaker.tryAcquire().admitted, true, "the hung probe's slot is free, not held for an hour");
  });
});

describe("permits", () => {
  it("settle once: a second settle is ignored, not double-counted", () => {
    const { breaker } = breakerWith({ failureThreshold: 2 });
    const permit = admit(breaker);
    permit.failure();
    permit.failure();
    permit.success();
    assert.equal(breaker.state, "closed");
    assert.deepEqual([breaker.metrics().totalRequests, breaker.metrics().consecutiveFailures], [1, 1]);
  });
});

describe("manual control", () => {
  it("forceOpen rejects everything until reset, with the open duration as the hint", () => {
    const { clock, breaker, changes } = breakerWith({ openDuration: 7_000 });
    breaker.forceOpen();
    clock.advance(1_000_000);
    assert.deepEqual(breaker.tryAcquire(), { admitted: false, state: "forced_open", retryAfterMs: 7_000 });
    assert.equal(breaker.metrics().retryAfterMs, null);
    breaker.reset();
    admit(breaker);
    assert.deepEqual(
      changes.map((c) => [c.from, c.to, c.reason]),
      [
        ["closed", "forced_open", "forced_open"],
        ["forced_open", "closed", "reset"],
      ],
    );
  });

  it("disable admits everything and keeps counting, but never opens", () => {
    const { breaker } = breakerWith({ failureThreshold: 1 });
    breaker.disable();
    settle(breaker, 20, "failure");
    assert.equal(breaker.state, "disabled");
    assert.deepEqual([breaker.metrics().failedRequests, breaker.metrics().consecutiveFailures], [20, 20]);
  });

  it("reset clears the window and counters but keeps the cumulative ones", () => {
    const { breaker } = breakerWith({ failureThreshold: 2 });
    settle(breaker, 2, "failure");
    breaker.tryAcquire();
    breaker.reset();
    assert.deepEqual(breaker.metrics(), {
      state: "closed",
      totalRequests: 0,
      failedRequests: 0,
      successRate: 1,
      consecutiveFailures: 0,
      rejectedRequests: 1,
      transitions: 2,
      retryAfterMs: null,
    });
  });

  it("reset of a closed circuit makes the calls already in flight late", () => {
    const { breaker, changes } = breakerWith({ failureThreshold: 1 });
    const inFlight = admit(breaker);
    breaker.reset();
    inFlight.failure();
    assert.equal(breaker.state, "closed");
    assert.equal(changes.length, 0, "closed → closed is no state change");
  });

  it("a repeated forceOpen or disable is no new transition", () => {
    const { breaker, changes } = breakerWith();
    breaker.forceOpen();
    breaker.forceOpen();
    breaker.disable();
    breaker.disable();
    assert.equal(changes.length, 2);
  });
});

describe("onStateChange", () => {
  it("returns a disposer that stops the notifications", () => {
    const { breaker } = breakerWith();
    const seen: string[] = [];
    const off = breaker.onStateChange((c) => seen.push(c.to));
    breaker.forceOpen();
    off();
    breaker.reset();
    assert.deepEqual(seen, ["forced_open"]);
  });

  it("answers a call from the state a listener left, not from the one it was told of", () => {
    const { clock, breaker } = breakerWith({ failureThreshold: 1, openDuration: 1_000 });
    breaker.onStateChange((change) => {
      if (change.to === "half_open") breaker.forceOpen();
    });
    settle(breaker, 1, "failure");
    clock.advance(1_000);
    const acquisition = breaker.tryAcquire();
    assert.equal(acquisition.admitted, false, "no probe permit from a half-open state that is gone");
    assert.equal(acquisition.admitted === false && acquisition.state, "forced_open");
  });

  it("tells every listener of the changes in the order they happened, also those a listener makes", () => {
    const { breaker } = breakerWith({ failureThreshold: 1 });
    const first: string[] = [];
    const second: string[] = [];
    breaker.onStateChange((change) => {
      first.push(change.to);
      if (change.to === "open") breaker.disable();
    });
    breaker.onStateChange((change) => second.push(change.to));
    settle(breaker, 1, "failure");
    assert.deepEqual(first, ["open", "disabled"]);
    assert.deepEqual(second, ["open", "disabled"]);
  });
});

describe("changes on another's word (a fleet)", () => {
  it("openFor opens for the given time with reason fleet and the origin given", () => {
    const { clock, breaker, changes } = breakerWith({ openDuration: 30_000 });
    assert.equal(breaker.openFor(5_000, { origin: "replica-b" }), true);
    assert.deepEqual(changes, [
      { from: "closed", to: "open", reason: "fleet", at: 1_000, origin: "replica-b" },
    ]);
    assert.equal(breaker.metrics().retryAfterMs, 5_000);
    clock.advance(5_000);
    assert.equal(breaker.state, "half_open");
  });

  it("openFor keeps an open circuit open until the later end, without a new change", () => {
    const { breaker, changes } = breakerWith({ failureThreshold: 1, openDuration: 10_000 });
    settle(breaker, 1, "failure");
    assert.equal(breaker.openFor(2_000), false);
    assert.equal(breaker.metrics().retryAfterMs, 10_000);
    assert.equal(breaker.openFor(20_000), false);
    assert.equal(breaker.metrics().retryAfterMs, 20_000);
    assert.equal(changes.length, 1);
  });

  it("openFor and close leave the manual modes alone", () => {
    const { breaker } = breakerWith();
    breaker.disable();
    assert.equal(breaker.openFor(1_000), false);
    breaker.forceOpen();
    assert.equal(breaker.close(), false);
    assert.equal(breaker.state, "forced_open");
  });

  it("close closes an open circuit with its window cleared", () => {
    const { breaker, changes } = breakerWith({ failureThreshold: 2 });
    settle(breaker, 2, "failure");
    assert.equal(breaker.close({ origin: "replica-c" }), true);
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.metrics().totalRequests, 0);
    assert.deepEqual(changes.at(-1), {
      from: "open",
      to: "closed",
      reason: "fleet",
      at: 1_000,
      origin: "replica-c",
    });
  });

  it("manual control records the origin it is given, and none when given none", () => {
    const { breaker, changes } = breakerWith();
    breaker.forceOpen({ origin: "replica-b" });
    breaker.reset();
    assert.deepEqual(
      changes.map((c) => c.origin),
      ["replica-b", undefined],
    );
    assert.equal("origin" in (changes[1] as object), false);
  });

  it("admits a half-open probe only when the probe gate lets it through", () => {
    let gateOpen = false;
    const { clock, breaker } = breakerWith({
      failureThreshold: 1,
      openDuration: 5_000,
      probeGate: () => gateOpen,
    });
    settle(breaker, 1, "failure");
    clock.advance(5_000);
    const refused = breaker.tryAcquire();
    assert.equal(refused.admitted, false);
    assert.equal(refused.admitted === false && refused.retryAfterMs, 1_000);
    gateOpen = true;
    admit(breaker).success();
    const { totalRequests, rejectedRequests } = breaker.metrics();
    assert.deepEqual(
      [totalRequests, rejectedRequests],
      [2, 1],
      "the opening failure and the probe are calls; the refused call is a rejection and took no slot",
    );
  });

  it("admits only probes in half-open with halfOpenProbesOnly, and ordinary calls elsewhere", () => {
    const { clock, breaker, changes } = breakerWith({
      failureThreshold: 1,
      openDuration: 5_000,
      successThreshold: 2,
      halfOpenProbesOnly: true,
    });
    const check = breaker.tryAcquire({ probe: true });
    assert.equal(check.admitted, true, "closed: a probe is an ordinary call");
    if (check.admitted) check.failure();
    clock.advance(5_000);
    const client = breaker.tryAcquire();
    assert.deepEqual(client, { admitted: false, state: "half_open", retryAfterMs: 1_000 });
    admit(breaker, { probe: true }).success();
    assert.equal(breaker.tryAcquire().admitted, false, "one success of two: still only probes");
    admit(breaker, { probe: true }).success();
    assert.equal(breaker.state, "closed");
    admit(breaker).success();
    assert.deepEqual(
      changes.map((c) => c.to),
      ["open", "half_open", "closed"],
    );
    assert.equal(breaker.metrics().rejectedRequests, 2);
  });

  it("refuses a duration that is not a finite number above 0", () => {
    const { breaker } = breakerWith();
    assert.throws(() => breaker.openFor(0), RangeError);
    assert.throws(() => breaker.openFor(Number.NaN), RangeError);
  });
});
