import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { post, toolCall } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): concurrent requests keep their own traces", () => {
  let receiver: OtlpReceiver;
  let upstream: TestUpstream;
  let proxy: TestProxy;
  before(async () => {
    receiver = await OtlpReceiver.start();
    // answers in reverse arrival order after all have come, so sockets are reused out of order
    const waiting: (() => void)[] = [];
    upstream = await startUpstream((_req, res, body) => {
      const m = JSON.parse(body) as { id: number };
      waiting.push(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { content: [] } }));
      });
      if (waiting.length % 10 === 0)
        for (const w of waiting.splice(0).reverse()) setTimeout(w, Math.random() * 20);
    });
    proxy = await startProxy(
      `[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10, maxQueueSize: 100000 } },
    );
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
    await receiver?.stop();
  });

  it("gives each request's client span and upstream context its own trace", async () => {
    const n = 200;
    const traceOf = (i: number) => (i + 1).toString(16).padStart(32, "c");
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const meta = i % 2 === 0 ? { traceparent: `00-${traceOf(i)}-00000000000000aa-01` } : undefined;
      const headers = i % 2 === 1 ? { traceparent: `00-${traceOf(i)}-00000000000000bb-01` } : {};
      all.push(post(`${proxy.url}/mcp`, toolCall(i, "add", {}, meta), headers));
    }
    await Promise.all(all);
    await receiver.waitForSpans((s) => s.length >= 2 * n, "all spans");
    const spans = receiver.spans;
    let wrong = 0;
    for (const seen of upstream.seen) {
      const m = JSON.parse(seen.body) as { id: number; params: { _meta: { traceparent: string } } };
      const header = seen.headers["traceparent"] as string;
      const metaTp = m.params._meta.traceparent;
      if (header !== metaTp) wrong++;
      const [, traceId, parentId] = header.split("-");
      if (traceId !== traceOf(m.id)) wrong++;
      const client = spans.find((s) => s.spanId === parentId);
      const server = spans.find((s) => s.spanId === client?.parentSpanId);
      if (server?.attributes["jsonrpc.request.id"] !== String(m.id)) wrong++;
    }
    assert.equal(upstream.seen.length, n);
    assert.equal(wrong, 0);
  });
});
