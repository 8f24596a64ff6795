import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { OtlpReceiver, type ReceivedSpan } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { mcpUpstream, post, toolCall } from "./telemetryRig.ts";

/**
 * The spans a request makes (SPEC §9), as a real OTLP/HTTP receiver gets them from the SDK's exporter:
 * a server span per JSON-RPC request, a client span per attempt, their names, kinds, parentage and
 * attributes, and the context the upstream receives.
 */
describe("traces of requests through a route (SPEC §9)", () => {
  let receiver: OtlpReceiver;
  let upstream: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    receiver = await OtlpReceiver.start();
    upstream = await startUpstream(mcpUpstream());
    proxy = await startProxy(
      `[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n` +
        `[telemetry]\notlp_endpoint = "${receiver.url}"\nservice_name = "gateway-under-test"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
    await receiver?.stop();
  });
  beforeEach(() => {
    receiver.clear();
    upstream.seen.length = 0;
  });

  /** The server span of `id`'s request and the client spans under it, once both are exported. */
  async function spansOf(id: number, clients = 1): Promise<{ server: ReceivedSpan; client: ReceivedSpan[] }> {
    const isServer = (s: ReceivedSpan) =>
      s.kind === "server" && s.attributes["jsonrpc.request.id"] === String(id);
    const server = await receiver.waitForSpan(isServer, `the server span of request ${id}`);
    const children = (spans: readonly ReceivedSpan[]) =>
      spans.filter((s) => s.parentSpanId === server.spanId);
    await receiver.waitForSpans((spans) => children(spans).length >= clients, `${clients} client spans`);
    return { server, client: children(receiver.spans) };
  }

  it("makes a server span for a tool call and a client span under it, named and attributed as the conventions say", async () => {
    const answer = await post(`${proxy.url}/mcp`, toolCall(1, "add", { a: 1, b: 2 }));
    assert.equal(answer.status, 200);
    const { server, client } = await spansOf(1);
    assert.equal(server.name, "tools/call add");
    assert.equal(server.kind, "server");
    assert.equal(server.parentSpanId, "", "no context came with the request: a root span");
    assert.equal(server.status.code, "unset");
    assert.equal(server.resource["service.name"], "gateway-under-test");
    for (const [key, value] of Object.entries({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "add",
      "gen_ai.operation.name": "execute_tool",
      "jsonrpc.request.id": "1",
      "breakwater.server": "default",
      "breakwater.upstream": "tools",
      "client.address": "127.0.0.1",
    }))
      assert.equal(server.attributes[key], value, key);
    assert.equal(server.attributes["error.type"], undefined);
    assert.equal(client.length, 1);
    const [span] = client as [ReceivedSpan];
    assert.equal(span.name, "tools/call add");
    assert.equal(span.kind, "client");
    assert.equal(span.traceId, server.traceId);
    for (const [key, value] of Object.entries({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "add",
      "server.address": "127.0.0.1",
      "server.port": upstream.port,
      "network.transport": "tcp",
      "breakwater.upstream": "tools",
    }))
      assert.equal(span.attributes[key], value, key);
  });

  it("sends the client span's context upstream in the traceparent header and in params._meta, and changes nothing else", async () => {
    // a number no double holds, as a client may write one
    const sent = toolCall(2, "add", { a: 0, b: "é\\n" }).replace('"a":0', '"a":12345678901234567890');
    await post(`${proxy.url}/mcp`, sent);
    const { client } = await spansOf(2);
    const [span] = client as [ReceivedSpan];
    const traceparent = `00-${span.traceId}-${span.spanId}-01`;
    const seen = upstream.seen[0];
    assert.ok(seen);
    assert.equal(seen.headers["traceparent"], traceparent);
    const body = JSON.parse(seen.body) as { params: { _meta: Record<string, unknown> } };
    assert.equal(body.params._meta["traceparent"], traceparent);
    // the big number and the escapes travel as the client wrote them
    assert.ok(seen.body.includes("12345678901234567890"));
    assert.ok(seen.body.includes('"b":"é\\\\n"'));
  });

  it("parses a request's body once: the span's facts and the call's judging read the same parse", async () => {
    const sent = toolCall(20, "add", { a: 1, b: 2 });
    const parse = JSON.parse;
    let parsedSent = 0;
    JSON.parse = (text: string, reviver?: Parameters<typeof parse>[1]) => {
      if (text === sent) parsedSent++;
      return parse(text, reviver);
    };
    try {
      const answer = await post(`${proxy.url}/mcp`, sent);
      assert.equal(answer.status, 200);
    } finally {
      JSON.parse = parse;
    }
    await spansOf(20);
    assert.equal(parsedSent, 1);
  });

  it("takes its parent from params._meta, where MCP carries it", async () => {
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await post(`${proxy.url}/mcp`, toolCall(3, "add", {}, { traceparent: parent }));
    const { server } = await spansOf(3);
    assert.equal(server.traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(server.parentSpanId, "b7ad6b7169203331");
    assert.deepEqual(server.links, []);
  });

  it("takes its parent from the traceparent header when the body carries none", async () => {
    const header = "00-11111111111111111111111111111111-2222222222222222-01";
    await post(`${proxy.url}/mcp`, toolCall(4, "add", {}), { traceparent: header });
    const { server } = await spansOf(4);
    assert.equal(server.traceId, "11111111111111111111111111111111");
    assert.equal(server.parentSpanId, "2222222222222222");
  });

  it("prefers params._meta and links the header's context when both are there", async () => {
    const meta = "00-33333333333333333333333333333333-4444444444444444-01";
    const header = "00-55555555555555555555555555555555-6666666666666666-01";
    await post(`${proxy.url}/mcp`, toolCall(5, "add", {}, { traceparent: meta }), { traceparent: header });
    const { server } = await spansOf(5);
    assert.equal(server.traceId, "33333333333333333333333333333333");
    assert.equal(server.parentSpanId, "4444444444444444");
    assert.equal(server.links.length, 1);
    assert.equal(server.links[0]?.traceId, "55555555555555555555555555555555");
    assert.equal(server.links[0]?.spanId, "6666666666666666");
  });

  it("says tool_error on both spans for a result with isError, and marks them errors", async () => {
    await post(`${proxy.url}/mcp`, toolCall(6, "fails", {}));
    const { server, client } = await spansOf(6);
    for (const span of [server, ...client]) {
      assert.equal(span.attributes["error.type"], "tool_error", span.kind);
      assert.equal(span.status.code, "error", span.kind);
      assert.equal(span.attributes["rpc.response.status_code"], undefined, span.kind);
    }
  });

  it("records a JSON-RPC error's code as error.type and rpc.response.status_code", async () => {
    await post(`${proxy.url}/mcp`, toolCall(7, "crashes", {}));
    const { server, client } = await spansOf(7);
    for (const span of [server, ...client]) {
      assert.equal(span.attributes["error.type"], "-32603", span.kind);
      assert.equal(span.attributes["rpc.response.status_code"], "-32603", span.kind);
      assert.equal(span.status.code, "error", span.kind);
    }
  });

  it("records an invalid-params answer's code on the server span without calling it the server's error", async () => {
    await post(`${proxy.url}/mcp`, toolCall(8, "nonesuch", {}));
    const { server, client } = await spansOf(8);
    assert.equal(server.attributes["rpc.response.status_code"], "-32602");
    assert.equal(server.attributes["error.type"], undefined);
    assert.equal(server.status.code, "unset");
    assert.equal(client[0]?.attributes["error.type"], "-32602", "a client counts every error code");
  });

  it("gives a request the circuit turned away its server span alone, saying circuit_open and when to retry", async () => {
    const forced = await fetch(`${proxy.adminUrl}/circuits/tools/open`, { method: "POST" });
    assert.equal(forced.status, 200);
    try {
      const answer = await post(`${proxy.url}/mcp`, toolCall(9, "add", {}));
      assert.equal(answer.status, 503);
    } finally {
      await fetch(`${proxy.adminUrl}/circuits/tools/reset`, { method: "POST" });
    }
    // spans leave in the order they end, and an attempt ends before its request's answer: by the time
    // the server span is here, a client span of the request would be too
    const { server } = await spansOf(9, 0);
    assert.equal(server.attributes["error.type"], "circuit_open");
    assert.equal(server.attributes["breakwater.circuit.state"], "forced_open");
    assert.equal(typeof server.attributes["breakwater.retry_after_ms"], "number");
    assert.equal(server.attributes["rpc.response.status_code"], "-32603");
    assert.equal(server.status.code, "error");
    assert.deepEqual(
      receiver.spans.filter((s) => s.parentSpanId === server.spanId),
      [],
      "no attempt was made: no client span",
    );
    assert.equal(upstream.seen.length, 0);
  });
});
