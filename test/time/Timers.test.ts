import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { maxTimerMs, systemTimers, timerDelay } from "../../src/time/Timers.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

describe("timerDelay", () => {
  it("clamps a delay beyond node's 2^31-1 ms to that bound instead of letting it fire at once", () => {
    assert.equal(timerDelay(3e9), maxTimerMs);
    assert.equal(timerDelay(Number.POSITIVE_INFINITY), maxTimerMs);
    assert.equal(timerDelay(maxTimerMs), maxTimerMs);
  });

  it("makes negative, zero and NaN delays 1 ms, and rounds fractions up", () => {
    assert.deepEqual([-5, 0, Number.NaN, 1.2, 10].map(timerDelay), [1, 1, 1, 2, 10]);
  });

  it("lets a real timer of a clamped huge delay stay pending", () => {
    let fired = false;
    const timer = systemTimers.setTimeout(() => {
      fired = true;
    }, 1e12);
    systemTimers.clearTimeout(timer);
    assert.equal(fired, false);
  });
});

describe("ManualTimers", () => {
  it("fires timers in the order they fall due, with the clock at each due time", async () => {
    const timers = new ManualTimers(100);
    const seen: string[] = [];
    timers.setTimeout(() => seen.push(`b@${timers.now()}`), 20);
    timers.setTimeout(() => seen.push(`a@${timers.now()}`), 10);
    timers.setTimeout(() => seen.push(`c@${timers.now()}`), 20);
    await timers.advance(15);
    assert.deepEqual(seen, ["a@110"]);
    await timers.advance(5);
    assert.deepEqual(seen, ["a@110", "b@120", "c@120"]);
    assert.equal(timers.now(), 120);
  });

  it("fires a timer set by another timer's callback when it falls due within the same step", async () => {
    const timers = new ManualTimers();
    const seen: number[] = [];
    timers.setTimeout(() => {
      seen.push(timers.now());
      timers.setTimeout(() => seen.push(timers.now()), 10);
    }, 10);
    await timers.advance(25);
    assert.deepEqual(seen, [10, 20]);
  });

  it("fires a timer set after an await in a callback, when it falls due within the step", async () => {
    const timers = new ManualTimers();
    const seen: number[] = [];
    timers.setTimeout(() => {
      void Promise.resolve().then(() => timers.setTimeout(() => seen.push(timers.now()), 5));
    }, 10);
    await timers.advance(15);
    assert.deepEqual(seen, [15]);
  });

  it("never fires a cleared timer", async () => {
    const timers = new ManualTimers();
    let fired = false;
    const timer = timers.setTimeout(() => {
      fired = true;
    }, 10);
    timers.clearTimeout(timer);
    timers.clearTimeout(undefined);
    await timers.advance(100);
    assert.equal(fired, false);
    assert.equal(timers.pending, 0);
  });

  it("runs the next timer on demand", async () => {
    const timers = new ManualTimers();
    let fired = 0;
    timers.setTimeout(() => fired++, 5_000);
    assert.equal(await timers.runNext(), true);
    assert.equal(fired, 1);
    assert.equal(timers.now(), 5_000);
    assert.equal(await timers.runNext(), false);
  });
});
