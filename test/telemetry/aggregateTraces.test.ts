import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { OtlpReceiver, type ReceivedSpan } from "../support/OtlpReceiver.ts";
import { serversToml, type TestProxy } from "../support/proxy.ts";
import { type Sdk2HttpServer, startSdk2Server } from "../support/sdk2.ts";
import { post, tracedProxy } from "./telemetryRig.ts";

/** A 2026-07-28 request (no session): its `_meta` envelope in the body, its method and name as headers. */
function modernRequest(
  id: number,
  method: string,
  params: Record<string, unknown> = {},
): { body: string; headers: Record<string, string> } {
  const meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": { name: "breakwater-trace-test", version: "1" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  const body = JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: meta } });
  const headers: Record<string, string> = { "mcp-protocol-version": "2026-07-28", "mcp-method": method };
  const name = params["name"];
  if (typeof name === "string") headers["mcp-name"] = name;
  return { body, headers };
}

/**
 * Traces under SPEC §7's servers and aggregate (SPEC §9): the server span is the client's request as
 * it reached Breakwater (the prefixed tool name), the client span the request as it went upstream (the
 * server's own name), and both name the server; what the aggregate answers itself makes no client span.
 */
describe("traces through the aggregate and a server's route (SPEC §9)", () => {
  let receiver: OtlpReceiver;
  let math: Sdk2HttpServer;
  let proxy: TestProxy;

  before(async () => {
    receiver = await OtlpReceiver.start();
    math = await startSdk2Server("math");
    proxy = await tracedProxy(
      `[aggregate]\nroute = "/mcp"\n` +
        serversToml([{ name: "math", route: "/math/mcp", upstreams: [{ name: "calc", url: math.url }] }]),
      receiver,
    );
  });
  after(async () => {
    await proxy?.close();
    await math?.close();
    await receiver?.stop();
  });
  beforeEach(() => receiver.clear());

  /** The server span of request `id`, once exported (with its client spans, ended before it). */
  async function spansOf(id: number): Promise<{ server: ReceivedSpan; client: ReceivedSpan[] }> {
    const server = await receiver.waitForSpan(
      (s) => s.kind === "server" && s.attributes["jsonrpc.request.id"] === String(id),
      `the server span of request ${id}`,
    );
    // spans leave in the order they end, and an attempt ends before its request's answer
    return { server, client: receiver.spans.filter((s) => s.parentSpanId === server.spanId) };
  }

  /** Requests that reached the upstream with `Mcp-Method: method`. */
  const reached = (method: string) => math.seen.filter((s) => s.headers["mcp-method"] === method).length;

  it("names a tool call through the aggregate by the prefixed name on the server span and the bare one on the client span", async () => {
    const call = modernRequest(21, "tools/call", { name: "math__add", arguments: { a: 2, b: 3 } });
    const answer = await post(`${proxy.url}/mcp`, call.body, call.headers);
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /"text":"5"/);
    const { server, client } = await spansOf(21);
    assert.equal(server.name, "tools/call math__add");
    assert.equal(server.attributes["gen_ai.tool.name"], "math__add");
    assert.equal(server.attributes["breakwater.server"], "math");
    assert.equal(server.attributes["breakwater.upstream"], "calc");
    assert.equal(server.attributes["mcp.protocol.version"], "2026-07-28");
    assert.equal(client.length, 1, "one attempt");
    const [span] = client as [ReceivedSpan];
    assert.equal(span.kind, "client");
    assert.equal(span.name, "tools/call add");
    assert.equal(span.attributes["gen_ai.tool.name"], "add");
    assert.equal(span.attributes["breakwater.server"], "math");
    assert.equal(span.attributes["breakwater.upstream"], "calc");
    assert.equal(span.attributes["server.port"], Number(new URL(math.url).port));
  });

  it("names the server on the spans of a call on the server's own route", async () => {
    const call = modernRequest(22, "tools/call", { name: "add", arguments: { a: 1, b: 1 } });
    const answer = await post(`${proxy.url}/math/mcp`, call.body, call.headers);
    assert.equal(answer.status, 200, answer.body);
    const { server, client } = await spansOf(22);
    assert.equal(server.name, "tools/call add");
    assert.equal(server.attributes["breakwater.server"], "math");
    assert.equal(client.length, 1);
    assert.equal(client[0]?.attributes["breakwater.server"], "math");
    assert.equal(client[0]?.attributes["breakwater.upstream"], "calc");
  });

  it("gives a tools/list the aggregate answers from its lists a server span and no client span", async () => {
    // the first list may wait for the server's; the second is answered from what the aggregate holds
    const first = modernRequest(23, "tools/list");
    assert.equal((await post(`${proxy.url}/mcp`, first.body, first.headers)).status, 200);
    const before = reached("tools/list");
    const list = modernRequest(24, "tools/list");
    const answer = await post(`${proxy.url}/mcp`, list.body, list.headers);
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /"name":"math__add"/);
    assert.equal(reached("tools/list"), before, "nothing was asked of the upstream");
    const { server, client } = await spansOf(24);
    assert.equal(server.name, "tools/list");
    assert.equal(server.kind, "server");
    assert.equal(server.attributes["mcp.method.name"], "tools/list");
    assert.equal(server.attributes["error.type"], undefined);
    assert.deepEqual(client, [], "no request went upstream: no client span");
  });
});
