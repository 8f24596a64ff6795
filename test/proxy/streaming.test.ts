import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { ManualTimers } from "../support/ManualTimers.ts";
import { startProxy, upstreamsToml } from "../support/proxy.ts";
import { startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

describe("server-sent events", () => {
  it("reach the client event by event: each event arrives before the upstream sends the next", async () => {
    let sendNext: (() => void) | undefined;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let n = 0;
      sendNext = () => {
        n++;
        if (n <= 3) res.write(`id: ${n}\ndata: {"n":${n}}\n\n`);
        else res.end();
      };
      sendNext();
    });
    // a stream outlives request_timeout_ms: that timeout is for the headers only
    const timers = new ManualTimers();
    const proxy = await startProxy(
      `[proxy]\nrequest_timeout_ms = 200\n${upstreamsToml([{ name: "sse", url: upstream.url }])}`,
      {},
      { timers },
    );
    opened.push(
      () => upstream.close(),
      () => proxy.close(),
    );

    const res = await request(proxy.url, { headers: { accept: "text/event-stream" } });
    assert.equal(res.headers["content-type"], "text/event-stream");
    const events: string[] = [];
    const inFlight: number[] = [];
    for await (const chunk of res.body) {
      events.push(String(chunk));
      inFlight.push(proxy.breakwater.upstreams[0]?.inFlight ?? -1);
      await timers.advance(250); // longer than request_timeout_ms
      sendNext?.();
    }
    assert.deepEqual(events, [
      'id: 1\ndata: {"n":1}\n\n',
      'id: 2\ndata: {"n":2}\n\n',
      'id: 3\ndata: {"n":3}\n\n',
    ]);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.metrics().failedRequests, 0);
    assert.deepEqual(inFlight, [1, 1, 1], "a stream counts as in flight while it lasts");
    assert.equal(proxy.breakwater.upstreams[0]?.inFlight, 0);
  });
});
