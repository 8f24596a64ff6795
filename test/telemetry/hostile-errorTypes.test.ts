import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver, type ReceivedSpan } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { post, toolCall } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): error.type of timeouts, cut streams, and a client gone", () => {
  let receiver: OtlpReceiver;
  let upstream: TestUpstream;
  let proxy: TestProxy;
  before(async () => {
    receiver = await OtlpReceiver.start();
    upstream = await startUpstream((_req, res, body) => {
      const m = JSON.parse(body) as { id: number; params: { name: string } };
      const name = m.params.name;
      if (name === "slow") return; // never answers
      if (name === "cut") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(
          'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n\n',
        );
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      if (name === "silent-sse") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": hi\n\n");
        return;
      }
      if (name === "forever") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": hi\n\n");
        return;
      }
    });
    proxy = await startProxy(
      `[proxy]\nrequest_timeout_ms = 300\nanswer_timeout_ms = 400\n[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n[upstreams.circuit_breaker]\nfailure_threshold = 100\n` +
        `[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
    await receiver?.stop();
  });

  async function spansOf(id: number): Promise<{ server: ReceivedSpan; client: ReceivedSpan[] }> {
    const server = await receiver.waitForSpan(
      (s) => s.kind === "server" && s.attributes["jsonrpc.request.id"] === String(id),
      `server span ${id}`,
    );
    return { server, client: receiver.spans.filter((s) => s.parentSpanId === server.spanId) };
  }

  it("timeout (504)", async () => {
    const a = await post(`${proxy.url}/mcp`, toolCall(1, "slow", {}));
    assert.equal(a.status, 504);
    const { server, client } = await spansOf(1);
    assert.equal(server.attributes["error.type"], "timeout");
    assert.equal(client[0]?.attributes["error.type"], "timeout");
  });

  it("stream_cut", async () => {
    await post(`${proxy.url}/mcp`, toolCall(2, "cut", {})).catch(() => undefined);
    const { server, client } = await spansOf(2);
    assert.equal(server.attributes["error.type"], "stream_cut");
    assert.equal(client[0]?.attributes["error.type"], "stream_cut");
  });

  it("answer timeout on an event stream", async () => {
    await post(`${proxy.url}/mcp`, toolCall(3, "silent-sse", {}));
    const { server, client } = await spansOf(3);
    assert.equal(server.attributes["error.type"], "timeout");
    assert.equal(client[0]?.attributes["error.type"], "timeout");
  });

  it("a client gone mid-stream ends both spans", async () => {
    const ac = new AbortController();
    const res = await fetch(`${proxy.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: toolCall(4, "forever", {}),
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    ac.abort();
    const { server, client } = await spansOf(4);
    assert.equal(client.length, 1);
    assert.equal(server.status.code, "error", "the client went away");
  });
});
