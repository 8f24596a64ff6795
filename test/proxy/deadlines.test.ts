import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { maxTimerMs } from "../../src/time/Timers.ts";
import { type ResponseSink, transportFailure } from "../../src/upstreams/Upstream.ts";
import { startBareProxy } from "../support/bareProxy.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { until } from "../support/until.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** A proxy on manual time in front of an upstream that holds each request until the test answers it. */
async function heldBehind(requestTimeoutMs: number) {
  const timers = new ManualTimers();
  let held: ResponseSink | undefined;
  const upstream = new FakeUpstream("u", [
    (sink) => {
      held = sink;
    },
  ]);
  const proxy = await startBareProxy([upstream], { requestTimeoutMs, timers });
  opened.push(() => proxy.close());
  const response = request(proxy.url, { method: "GET" }).then(async (res) => ({
    status: res.statusCode,
    body: await res.body.text(),
  }));
  await until(() => held !== undefined, "the request reaches the upstream");
  const answer = () => {
    held?.head(200, { "content-length": "2" }, "OK");
    held?.data(Buffer.from("ok"));
    held?.end();
  };
  return { timers, proxy, upstream, response, answer };
}

describe("request deadlines on the time seam", () => {
  it("clamps a request timeout beyond node's timers (3e9 ms): the request is not cut after 1 ms", async () => {
    const { timers, proxy, response, answer } = await heldBehind(3e9);
    assert.equal(timers.nextDue, maxTimerMs, "the deadline's timer is clamped to 2^31-1 ms");
    await timers.advance(60_000);
    answer();
    assert.deepEqual(await response, { status: 200, body: "ok" });
    assert.deepEqual(
      proxy.settled.map((s) => s.outcome),
      ["success"],
    );
  });

  it("still ends a clamped deadline when the whole timeout has passed: 504, a failure", async () => {
    const { timers, proxy, response } = await heldBehind(3e9);
    await timers.advance(maxTimerMs);
    assert.equal(proxy.settled.length, 0, "set again for the rest of the 3e9 ms");
    await timers.advance(3e9 - maxTimerMs);
    assert.equal((await response).status, 504);
    assert.deepEqual(
      proxy.settled.map((s) => s.outcome),
      ["failure"],
    );
  });
});

describe("latency of a failover (SPEC §2 metrics)", () => {
  it("times the second upstream from its own dispatch, not from the first's", async () => {
    const timers = new ManualTimers();
    let first: ResponseSink | undefined;
    const a = new FakeUpstream("a", [
      (sink) => {
        first = sink;
      },
    ]);
    const b = new FakeUpstream("b");
    const heads: { upstream: string; seconds: number }[] = [];
    const proxy = await startBareProxy([a, b], {
      timers,
      observer: {
        head: (report) => heads.push({ upstream: report.upstream.name, seconds: report.seconds }),
        settled() {},
      },
    });
    opened.push(() => proxy.close());
    const response = request(proxy.url, { method: "GET" }).then((res) => res.body.text());
    await until(() => first !== undefined, "the request reaches a");
    await timers.advance(4_000); // a takes 4 s to fail to connect
    first?.error(transportFailure(new Error("connect ETIMEDOUT"), { nothingSent: true }));
    assert.equal(await response, '"b"');
    assert.deepEqual(heads, [{ upstream: "b", seconds: 0 }]);
  });
});
