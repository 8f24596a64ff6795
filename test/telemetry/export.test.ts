import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { startUpstream } from "../support/upstream.ts";
import { mcpUpstream, post, toolCall } from "./telemetryRig.ts";

/** The conventions' bucket boundaries of both MCP duration histograms (seconds). */
const conventionBuckets = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

const config = (upstreamUrl: string, receiverUrl: string) =>
  `[[upstreams]]\nname = "tools"\nurl = "${upstreamUrl}/mcp"\n[telemetry]\notlp_endpoint = "${receiverUrl}"\n`;

describe("what telemetry exports besides spans, and a collector that fails it (SPEC §9)", () => {
  it("exports both duration histograms with the conventions' buckets and attributes, and shows them on /metrics", async (t) => {
    const receiver = await OtlpReceiver.start();
    const upstream = await startUpstream(mcpUpstream());
    const proxy = await startProxy(config(upstream.url, receiver.url));
    t.after(async () => {
      await upstream.close();
      await receiver.stop();
    });
    for (let id = 1; id <= 3; id++) await post(`${proxy.url}/mcp`, toolCall(id, "add", {}));
    await post(`${proxy.url}/mcp`, toolCall(4, "crashes", {}));
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    await proxy.close(); // the last export happens at the stop
    const points = await receiver.waitForHistogramPoints(
      (all) => all.some((p) => p.metric === "mcp.client.operation.duration"),
      "the client histogram",
    );
    const served = points.filter((p) => p.metric === "mcp.server.operation.duration");
    const ok = served.find((p) => p.attributes["error.type"] === undefined);
    const failed = served.find((p) => p.attributes["error.type"] === "-32603");
    assert.ok(ok && failed, "one series per error.type");
    assert.equal(ok.unit, "s");
    assert.deepEqual(ok.explicitBounds, conventionBuckets);
    assert.equal(ok.count, 3);
    assert.equal(failed.count, 1);
    assert.equal(ok.attributes["mcp.method.name"], "tools/call");
    assert.equal(ok.attributes["gen_ai.tool.name"], "add");
    assert.equal(ok.attributes["breakwater.server"], "default");
    assert.equal(ok.attributes["jsonrpc.request.id"], undefined, "no per-request attribute on a metric");
    const sent = points.filter((p) => p.metric === "mcp.client.operation.duration");
    assert.equal(
      sent.reduce((sum, p) => sum + p.count, 0),
      4,
    );
    assert.equal(sent[0]?.attributes["breakwater.upstream"], "tools");
    assert.equal(sent[0]?.attributes["network.transport"], "tcp");
    // the same on /metrics, under Prometheus's names
    assert.match(
      metrics,
      /mcp_server_operation_duration_seconds_count\{mcp_method_name="tools\/call",gen_ai_tool_name="add",gen_ai_prompt_name="",error_type="",breakwater_server="default"\} 3/,
    );
    assert.match(metrics, /mcp_server_operation_duration_seconds_bucket\{le="300",/);
    assert.match(metrics, /mcp_client_operation_duration_seconds_count\{[^}]*error_type="-32603"[^}]*\} 1/);
    assert.match(metrics, /breakwater_telemetry_dropped_total 0/);
  });

  it("puts the current span's trace_id and span_id on a log line written under it", async (t) => {
    const receiver = await OtlpReceiver.start();
    const upstream = await startUpstream(mcpUpstream());
    const proxy = await startProxy(
      config(upstream.url, receiver.url),
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
    t.after(async () => {
      await proxy.close();
      await upstream.close();
      await receiver.stop();
    });
    await post(`${proxy.url}/mcp`, toolCall(1, "crashes", {}));
    const client = await receiver.waitForSpan((s) => s.kind === "client", "the client span");
    const line = proxy.logs().find((l) => l["msg"] === "upstream failure");
    assert.ok(line, "the failure was logged");
    assert.equal(line["trace_id"], client.traceId);
    assert.equal(line["span_id"], client.spanId, "written while the attempt's span was current");
    // a line written outside any request (an operator's control) carries none
    await fetch(`${proxy.adminUrl}/circuits/tools/reset`, { method: "POST" });
    const control = proxy.logs().find((l) => l["msg"] === "manual circuit control");
    assert.ok(control);
    assert.equal(control["trace_id"], undefined);
  });

  it("answers every request on time while the collector hangs, and counts the spans it could not keep", async (t) => {
    const receiver = await OtlpReceiver.start({ mode: "hang" });
    const upstream = await startUpstream(mcpUpstream());
    const proxy = await startProxy(
      config(upstream.url, receiver.url),
      {},
      { telemetry: { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 10 } },
    );
    t.after(async () => {
      receiver.mode = "ok";
      await proxy.close();
      await upstream.close();
      await receiver.stop();
    });
    await post(`${proxy.url}/mcp`, toolCall(1, "add", {}));
    await receiver.waitForHeld(1, "an export the collector holds");
    // while it holds it: each request makes two spans, and the queue holds four
    const statuses: number[] = [];
    for (let id = 2; id <= 11; id++)
      statuses.push((await post(`${proxy.url}/mcp`, toolCall(id, "add", {}))).status);
    assert.deepEqual(statuses, new Array(10).fill(200));
    assert.equal(receiver.held >= 1, true, "still held: nothing waited for it");
    const dropped = await droppedSpans(proxy.adminUrl);
    assert.ok(dropped >= 20 - 4, `dropped ${dropped}`);
  });

  it("answers every request while the collector is down, and counts the spans lost in the failed export", async (t) => {
    const receiver = await OtlpReceiver.start();
    const url = receiver.url;
    await receiver.stop(); // nothing listens there any more
    const upstream = await startUpstream(mcpUpstream());
    // an exporter deadline too short for a retry: the export fails at its first refusal
    const telemetry = { scheduledDelayMillis: 10, exporterTimeoutMillis: 300 };
    const proxy = await startProxy(config(upstream.url, url), {}, { telemetry });
    t.after(async () => {
      await proxy.close();
      await upstream.close();
    });
    for (let id = 1; id <= 3; id++)
      assert.equal((await post(`${proxy.url}/mcp`, toolCall(id, "add", {}))).status, 200);
    let dropped = 0;
    await until(async () => {
      dropped = await droppedSpans(proxy.adminUrl);
      return dropped >= 6;
    }, "the failed export counted");
    assert.equal(dropped, 6, "two spans a request, each lost once");
  });
});

/** `breakwater_telemetry_dropped_total` as `/metrics` shows it. */
async function droppedSpans(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const found = /^breakwater_telemetry_dropped_total (\d+)$/m.exec(text);
  assert.ok(found, "the counter is on /metrics");
  return Number(found[1]);
}
