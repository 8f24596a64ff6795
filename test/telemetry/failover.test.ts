import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { ManualTimers } from "../support/ManualTimers.ts";
import { OtlpReceiver, type ReceivedSpan } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { hang, refusedPort, startUpstream, type TestUpstream } from "../support/upstream.ts";
import { mcpUpstream, post, toolCall } from "./telemetryRig.ts";

/**
 * The spans of a request that no single attempt served plainly (SPEC §9): a failover is a second
 * client span under the one server span, and a timeout is said on both spans.
 */

/** The spans a proxy exports at once in these tests: short batches (the SDK runs on real timers). */
const exportOptions = { telemetry: { scheduledDelayMillis: 10 } } as const;

/** The server span of request `id`, once exported, and the client spans under it once `clients` are. */
async function spansOf(
  receiver: OtlpReceiver,
  id: number,
  clients: number,
): Promise<{ server: ReceivedSpan; client: ReceivedSpan[] }> {
  const server = await receiver.waitForSpan(
    (s) => s.kind === "server" && s.attributes["jsonrpc.request.id"] === String(id),
    `the server span of request ${id}`,
  );
  const children = (spans: readonly ReceivedSpan[]) => spans.filter((s) => s.parentSpanId === server.spanId);
  // spans leave in the order they end, and every attempt ends before its request's answer: by the
  // time the server span is here, its client spans are too
  await receiver.waitForSpans((spans) => children(spans).length >= clients, `${clients} client spans`);
  return { server, client: children(receiver.spans) };
}

describe("a failover in the trace (SPEC §9)", () => {
  let receiver: OtlpReceiver;
  let live: TestUpstream;
  let deadPort: number;
  let proxy: TestProxy;

  before(async () => {
    receiver = await OtlpReceiver.start();
    deadPort = await refusedPort();
    live = await startUpstream(mcpUpstream());
    proxy = await startProxy(
      `[proxy]\nload_balancing = "failover"\n` +
        upstreamsToml([
          { name: "dead", url: `http://127.0.0.1:${deadPort}/mcp` },
          { name: "live", url: `${live.url}/mcp` },
        ]) +
        `[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      exportOptions,
    );
  });
  after(async () => {
    await proxy?.close();
    await live?.close();
    await receiver?.stop();
  });
  beforeEach(() => receiver.clear());

  it("shows a request refused by the first upstream and answered by the second as one server span over two client spans", async () => {
    const answer = await post(`${proxy.url}/mcp`, toolCall(1, "add", { a: 1, b: 2 }));
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { result?: unknown }).result !== undefined, true, answer.body);
    assert.equal(live.seen.length, 1, "the second upstream got the request");

    const { server, client } = await spansOf(receiver, 1, 2);
    assert.equal(client.length, 2, "one client span per attempt");
    const refused = client.find((s) => s.attributes["breakwater.upstream"] === "dead");
    const served = client.find((s) => s.attributes["breakwater.upstream"] === "live");
    assert.ok(refused && served, "an attempt at each upstream");
    assert.ok(refused.endNs <= served.startNs, "the failover follows the refused attempt");

    assert.equal(refused.name, "tools/call add");
    assert.equal(refused.attributes["server.port"], deadPort);
    assert.equal(refused.attributes["error.type"], "ECONNREFUSED");
    assert.equal(refused.status.code, "error");

    assert.equal(served.name, "tools/call add");
    assert.equal(served.attributes["server.address"], "127.0.0.1");
    assert.equal(served.attributes["server.port"], live.port);
    assert.equal(served.attributes["error.type"], undefined);
    assert.equal(served.status.code, "unset");

    for (const span of client) assert.equal(span.traceId, server.traceId);
    assert.equal(server.attributes["breakwater.upstream"], "live", "the upstream that served the answer");
    assert.equal(server.attributes["error.type"], undefined, "the client got its answer");
    assert.equal(server.status.code, "unset");
  });

  it("sends the second attempt its own span's context, not the first one's", async () => {
    live.seen.length = 0;
    await post(`${proxy.url}/mcp`, toolCall(2, "add", {}));
    const { client } = await spansOf(receiver, 2, 2);
    const served = client.find((s) => s.attributes["breakwater.upstream"] === "live");
    assert.ok(served);
    const traceparent = `00-${served.traceId}-${served.spanId}-01`;
    assert.equal(live.seen[0]?.headers["traceparent"], traceparent);
    const body = JSON.parse(live.seen[0]?.body ?? "{}") as { params: { _meta: Record<string, unknown> } };
    assert.equal(body.params._meta["traceparent"], traceparent);
  });
});

describe("a timeout in the trace (SPEC §9)", () => {
  it("says timeout on the client span of an attempt that got no response in time, and on the server span of the 504", async (t) => {
    // stopped last first: the proxy exports its last spans before the receiver goes
    const opened: (() => Promise<void>)[] = [];
    t.after(async () => {
      for (const close of opened.reverse()) await close();
    });
    const receiver = await OtlpReceiver.start();
    opened.push(() => receiver.stop());
    const silent = await startUpstream(hang);
    opened.push(() => silent.close());
    // the proxy's deadlines on stepped time; the SDK's batches on its own real timers
    const timers = new ManualTimers();
    const proxy = await startProxy(
      `[proxy]\nrequest_timeout_ms = 200\n` +
        upstreamsToml([{ name: "silent", url: `${silent.url}/mcp` }]) +
        `[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { ...exportOptions, timers },
    );
    opened.push(() => proxy.close());

    const answer = post(`${proxy.url}/mcp`, toolCall(3, "add", {}));
    await until(() => silent.seen.length === 1, "the request reaches the upstream");
    await timers.advance(200);
    const answered = await answer;
    assert.equal(answered.status, 504);

    const { server, client } = await spansOf(receiver, 3, 1);
    assert.equal(client.length, 1);
    const [attempt] = client as [ReceivedSpan];
    assert.equal(attempt.attributes["error.type"], "timeout");
    assert.equal(attempt.attributes["breakwater.upstream"], "silent");
    assert.equal(attempt.status.code, "error");
    assert.equal(server.attributes["error.type"], "timeout");
    assert.equal(server.attributes["breakwater.upstream"], "silent");
    assert.equal(server.status.code, "error");
  });
});
