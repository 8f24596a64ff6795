import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RefusalLog } from "../../src/upstreams/stdio/RefusalLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

describe("RefusalLog", () => {
  it("tells the first refusal at once, then the count of the rest once per interval", async () => {
    const timers = new ManualTimers();
    const told: number[] = [];
    const log = new RefusalLog((suppressed) => told.push(suppressed), 1_000, timers);
    for (let i = 0; i < 5; i++) log.refused();
    assert.deepEqual(told, [0]);
    await timers.advance(1_000);
    assert.deepEqual(told, [0, 4]);
    log.refused();
    await timers.advance(999);
    assert.deepEqual(told, [0, 4], "within the next interval: counted");
    await timers.advance(1);
    assert.deepEqual(told, [0, 4, 1]);
    await timers.advance(1_000);
    assert.equal(timers.pending, 0, "a quiet interval ends the watch");
    log.refused();
    assert.deepEqual(told, [0, 4, 1, 0], "the next refusal is told at once");
  });

  it("tells what is counted when closed, and nothing after", () => {
    const timers = new ManualTimers();
    const told: number[] = [];
    const log = new RefusalLog((suppressed) => told.push(suppressed), 1_000, timers);
    log.refused();
    log.refused();
    log.close();
    log.refused();
    assert.deepEqual([told, timers.pending], [[0, 1], 0]);
  });
});
