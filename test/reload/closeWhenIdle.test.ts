import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closeWhenIdle } from "../../src/reload/closeWhenIdle.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

/** An upstream with requests in flight that the test ends, and that says when it was closed. */
function draining(inFlight: number) {
  const upstream = {
    inFlight,
    closed: false,
    async close() {
      upstream.closed = true;
    },
  };
  return upstream;
}

describe("closeWhenIdle, on stepped time", () => {
  it("closes a replaced upstream soon after its last request ends", async () => {
    const timers = new ManualTimers();
    const upstream = draining(1);
    const done = closeWhenIdle(upstream as unknown as Upstream, 60_000, timers);
    await timers.advance(5_000);
    assert.equal(upstream.closed, false, "a request is still in flight");
    upstream.inFlight = 0;
    await timers.advance(100);
    assert.equal(upstream.closed, true);
    await done;
  });

  it("closes it at maxMs even while a request (a stream) goes on", async () => {
    const timers = new ManualTimers();
    const upstream = draining(1);
    const done = closeWhenIdle(upstream as unknown as Upstream, 60_000, timers);
    await timers.advance(59_900);
    assert.equal(upstream.closed, false);
    await timers.advance(100);
    assert.equal(upstream.closed, true);
    await done;
  });
});
