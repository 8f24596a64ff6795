import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from "@opentelemetry/api";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { OtlpReceiver, type OtlpReceiverOptions } from "../support/OtlpReceiver.ts";
import { until } from "../support/until.ts";

const resource = resourceFromAttributes({ "service.name": "receiver-test" });
const remoteParent = {
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: createTraceState("vendor=value"),
};
const linked = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 };

async function receiver(t: TestContext, options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const started = await OtlpReceiver.start(options);
  t.after(() => started.stop());
  return started;
}

/**
 * Shuts a provider down, then the receiver: a provider's shutdown exports once more, and an exporter that
 * finds the port closed retries (ECONNREFUSED is retryable) until its timeout, 10 s by default.
 */
async function shutDownBefore(otlp: OtlpReceiver, provider: { shutdown(): Promise<void> }): Promise<void> {
  try {
    await provider.shutdown();
  } finally {
    await otlp.stop();
  }
}

/** Finished spans made by the SDK without any network, for handing to an exporter by hand. */
function finishedSpans(...names: string[]): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  for (const name of names) provider.getTracer("by-hand").startSpan(name).end();
  return memory.getFinishedSpans();
}

/** Calls `exporter.export` and keeps what its callback is told, so a test can see whether it was called. */
function exportByHand(exporter: OTLPTraceExporter, spans: ReadableSpan[]): ExportResult[] {
  const results: ExportResult[] = [];
  exporter.export(spans, (result) => results.push(result));
  return results;
}

describe("the OTLP receiver, against the OpenTelemetry JS exporters", () => {
  it("decodes the proto trace exporter's spans: names, kinds, parentage, attributes, link, status, resource", async (t) => {
    const otlp = await OtlpReceiver.start();
    const provider = new TracerProvider({
      resource,
      spanProcessors: [
        new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${otlp.url}/v1/traces` }) }),
      ],
    });
    t.after(() => shutDownBefore(otlp, provider));
    const tracer = provider.getTracer("breakwater-test", "1.2.3");

    const server = tracer.startSpan(
      "tools/call get_weather",
      {
        kind: SpanKind.SERVER,
        attributes: { "mcp.method.name": "tools/call", "jsonrpc.request.id": "7", "client.port": 5555 },
        links: [{ context: linked, attributes: { "breakwater.link": "traceparent header" } }],
      },
      trace.setSpanContext(ROOT_CONTEXT, remoteParent),
    );
    const client = tracer.startSpan(
      "tools/call get_weather",
      {
        kind: SpanKind.CLIENT,
        attributes: { "server.port": 8080, "breakwater.retried": true, "breakwater.tags": ["a", "b"] },
      },
      trace.setSpan(ROOT_CONTEXT, server),
    );
    client.addEvent("answer received", { "rpc.response.status_code": "-32603" });
    client.setStatus({ code: SpanStatusCode.ERROR, message: "-32603" });
    client.end();
    server.end();
    await provider.forceFlush();

    const clientSpan = await otlp.waitForSpan((span) => span.kind === "client", "the client span");
    const spans = await otlp.waitForSpans(2);
    const serverSpan = spans.find((span) => span.kind === "server");
    assert.ok(serverSpan, "a server span");
    assert.equal(spans.length, 2);
    assert.equal(serverSpan.name, "tools/call get_weather");
    assert.equal(serverSpan.traceId, remoteParent.traceId);
    assert.equal(serverSpan.parentSpanId, remoteParent.spanId);
    assert.equal(serverSpan.traceState, "vendor=value");
    assert.equal(serverSpan.spanId, server.spanContext().spanId);
    assert.deepEqual(serverSpan.attributes, {
      "mcp.method.name": "tools/call",
      "jsonrpc.request.id": "7",
      "client.port": 5555,
    });
    assert.deepEqual(serverSpan.links, [
      {
        traceId: linked.traceId,
        spanId: linked.spanId,
        traceState: "",
        attributes: { "breakwater.link": "traceparent header" },
      },
    ]);
    assert.deepEqual(serverSpan.status, { code: "unset", message: "" });
    assert.equal(clientSpan.traceId, remoteParent.traceId);
    assert.equal(clientSpan.parentSpanId, serverSpan.spanId);
    assert.deepEqual(clientSpan.attributes, {
      "server.port": 8080,
      "breakwater.retried": true,
      "breakwater.tags": ["a", "b"],
    });
    assert.deepEqual(clientSpan.status, { code: "error", message: "-32603" });
    assert.deepEqual(
      clientSpan.events.map((event) => [event.name, event.attributes]),
      [["answer received", { "rpc.response.status_code": "-32603" }]],
    );
    assert.ok(clientSpan.startNs > 0n && clientSpan.endNs >= clientSpan.startNs, "times in nanoseconds");
    assert.equal(clientSpan.resource["service.name"], "receiver-test");
    assert.equal(clientSpan.scope, "breakwater-test");
    assert.deepEqual(
      otlp.requests.map((request) => [request.path, request.contentType, request.contentEncoding]),
      [["/v1/traces", "application/x-protobuf", ""]],
    );
    assert.deepEqual(otlp.errors, []);
  });

  it("decodes the proto metric exporter's histogram (explicit bounds, bucket counts, count, sum) and keeps other kinds as decoded", async (t) => {
    const otlp = await OtlpReceiver.start();
    const provider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${otlp.url}/v1/metrics` }),
          exportIntervalMillis: 3_600_000, // only forceFlush exports
        }),
      ],
    });
    t.after(() => shutDownBefore(otlp, provider));
    const histogram = provider.getMeter("breakwater-test").createHistogram("mcp.server.operation.duration", {
      unit: "s",
      advice: { explicitBucketBoundaries: [0.01, 0.1, 1] },
    });
    for (const seconds of [0.005, 0.05, 0.05, 5])
      histogram.record(seconds, { "mcp.method.name": "tools/call" });
    provider.getMeter("breakwater-test").createCounter("breakwater.test.counted").add(3);
    await provider.forceFlush();

    const [point] = await otlp.waitForHistogramPoints(1);
    assert.ok(point);
    assert.equal(point.metric, "mcp.server.operation.duration");
    assert.equal(point.unit, "s");
    assert.equal(point.temporality, "cumulative");
    assert.deepEqual(point.attributes, { "mcp.method.name": "tools/call" });
    assert.deepEqual(point.explicitBounds, [0.01, 0.1, 1]);
    assert.deepEqual(point.bucketCounts, [1, 2, 0, 1]);
    assert.equal(point.count, 4);
    assert.equal(point.sum, 0.005 + 0.05 + 0.05 + 5);
    assert.equal(point.min, 0.005);
    assert.equal(point.max, 5);
    assert.equal(point.resource["service.name"], "receiver-test");
    assert.deepEqual(
      otlp.metrics.map((metric) => [metric.name, metric.kind]),
      [
        ["mcp.server.operation.duration", "histogram"],
        ["breakwater.test.counted", "sum"],
      ],
    );
    const counted = otlp.metrics[1]?.data as { dataPoints: { asDouble?: number }[]; isMonotonic: boolean };
    assert.equal(counted.isMonotonic, true, "other kinds are kept as decoded");
    assert.equal(counted.dataPoints[0]?.asDouble, 3);
  });

  it("holds an export unanswered while hanging, and answers it 200 when switched to ok", async (t) => {
    const otlp = await receiver(t, { mode: "hang" });
    const exporter = new OTLPTraceExporter({ url: `${otlp.url}/v1/traces` });
    t.after(() => exporter.shutdown());

    const results = exportByHand(exporter, finishedSpans("held"));
    await otlp.waitForHeld(1);
    assert.equal(results.length, 0, "the exporter is still waiting for its answer");
    assert.equal(otlp.spans.length, 0, "a held export is not recorded as accepted");

    otlp.mode = "ok";
    await until(() => results.length === 1, "the export's result");
    assert.equal(results[0]?.code, ExportResultCode.SUCCESS);
    assert.deepEqual(
      otlp.spans.map((span) => span.name),
      ["held"],
    );
    assert.equal(otlp.received("/v1/traces"), 1);
  });

  it("stop() closes the connections of held exports, and their exporter reports a failure", async (t) => {
    const otlp = await receiver(t, { mode: "hang" });
    // Short enough that the exporter does not retry the reset connection (its first backoff is 0.8-1.2 s).
    const exporter = new OTLPTraceExporter({ url: `${otlp.url}/v1/traces`, timeoutMillis: 700 });
    t.after(() => exporter.shutdown());

    const results = exportByHand(exporter, finishedSpans("cut"));
    await otlp.waitForHeld(1);
    await otlp.stop();
    await until(() => results.length === 1, "the export's result");
    assert.equal(results[0]?.code, ExportResultCode.FAILED);
    assert.equal((results[0]?.error as NodeJS.ErrnoException | undefined)?.code, "ECONNRESET");
  });

  it("answers 503 when failing: the exporter's export fails, and nothing is recorded", async (t) => {
    const otlp = await receiver(t, { mode: "fail" });
    // 503 is retryable; a timeout below the first backoff makes the exporter give up after one attempt.
    const exporter = new OTLPTraceExporter({ url: `${otlp.url}/v1/traces`, timeoutMillis: 500 });
    t.after(() => exporter.shutdown());

    const results = exportByHand(exporter, finishedSpans("refused"));
    await until(() => results.length === 1, "the export's result");
    assert.equal(results[0]?.code, ExportResultCode.FAILED);
    assert.equal(otlp.received("/v1/traces"), 1);
    assert.equal(otlp.spans.length, 0);
  });

  it("a non-retryable failStatus fails the export at once, whatever the exporter's timeout", async (t) => {
    const otlp = await receiver(t, { mode: "fail", failStatus: 400 });
    const exporter = new OTLPTraceExporter({ url: `${otlp.url}/v1/traces` });
    t.after(() => exporter.shutdown());

    const results = exportByHand(exporter, finishedSpans("bad"));
    await until(() => results.length === 1, "the export's result");
    assert.equal(results[0]?.code, ExportResultCode.FAILED);
    assert.equal((results[0]?.error as { code?: number } | undefined)?.code, 400);
    assert.equal(otlp.received("/v1/traces"), 1);
  });

  it("the exporter retries a 503 by itself and succeeds once the receiver accepts", async (t) => {
    const otlp = await receiver(t, { mode: "fail" });
    const exporter = new OTLPTraceExporter({ url: `${otlp.url}/v1/traces` }); // default timeout: 10 s
    t.after(() => exporter.shutdown());

    const results = exportByHand(exporter, finishedSpans("retried"));
    await otlp.waitForRequests("/v1/traces", 1);
    otlp.mode = "ok";
    await until(() => results.length === 1, "the export's result");
    assert.equal(results[0]?.code, ExportResultCode.SUCCESS);
    assert.equal(otlp.received("/v1/traces"), 2, "one refused attempt, one retry");
    assert.deepEqual(
      otlp.spans.map((span) => span.name),
      ["retried"],
    );
  });

  it("decodes gzip bodies (the exporters send them when OTEL_EXPORTER_OTLP_*COMPRESSION=gzip)", async (t) => {
    const otlp = await receiver(t);
    const saved = process.env["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"];
    process.env["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] = "gzip"; // read once, by the constructor
    let exporter: OTLPTraceExporter;
    try {
      exporter = new OTLPTraceExporter({ url: `${otlp.url}/v1/traces` });
    } finally {
      if (saved === undefined) delete process.env["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"];
      else process.env["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] = saved;
    }
    t.after(() => exporter.shutdown());

    const results = exportByHand(exporter, finishedSpans("zipped"));
    await until(() => results.length === 1, "the export's result");
    assert.equal(results[0]?.code, ExportResultCode.SUCCESS);
    assert.equal(otlp.requests[0]?.contentEncoding, "gzip");
    assert.deepEqual(
      otlp.spans.map((span) => span.name),
      ["zipped"],
    );
  });

  it("decodes OTLP/JSON: hex ids, integers as strings, enums as numbers", async (t) => {
    const otlp = await receiver(t);
    // The OTLP specification's JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "json-sender" } }] },
          scopeSpans: [
            {
              scope: { name: "json-scope" },
              spans: [
                {
                  traceId: "5B8EFFF798038103D269B633813FC60C",
                  spanId: "EEE19B7EC3C1B174",
                  parentSpanId: "EEE19B7EC3C1B173",
                  name: "json span",
                  kind: 3,
                  startTimeUnixNano: "1544712660000000000",
                  endTimeUnixNano: "1544712661000000000",
                  attributes: [{ key: "server.port", value: { intValue: "8080" } }],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await fetch(`${otlp.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
    const [span] = otlp.spans;
    assert.deepEqual(
      span && [span.name, span.kind, span.traceId, span.spanId, span.parentSpanId, span.status.code],
      [
        "json span",
        "client",
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b173",
        "ok",
      ],
    );
    assert.deepEqual(span?.attributes, { "server.port": 8080 });
    assert.equal(span?.startNs, 1544712660000000000n);
    assert.equal(span?.resource["service.name"], "json-sender");
    assert.equal(span?.scope, "json-scope");
  });

  it("answers 404 to other paths, counts every request, and forgets everything on clear()", async (t) => {
    const otlp = await receiver(t);
    const response = await fetch(`${otlp.url}/v1/logs`, { method: "POST", body: "x" });
    assert.equal(response.status, 404);
    await response.arrayBuffer();
    assert.equal(otlp.received("/v1/logs"), 1);
    assert.equal(otlp.received("/v1/traces"), 0);

    otlp.clear();
    assert.equal(otlp.received("/v1/logs"), 0);
    assert.deepEqual(otlp.requests, []);
  });
});
