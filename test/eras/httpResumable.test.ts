import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { request } from "undici";
import { startFleet } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import type { Handler } from "../support/upstream.ts";
import { proxyFor } from "./httpSdkServer.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * An SDK 1.x server (2025-11-25) with an event store, whose tool "poll" closes its call's event stream
 * (`closeSSEStream`, SEP-1699) and answers once the test releases it: the client resumes with a GET.
 */
async function resumableServer() {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const methods: string[] = [];
  const server = new McpServer({ name: "resumable", version: "1.0.0" });
  server.registerTool("poll", {}, async (extra) => {
    extra.closeSSEStream?.();
    await released;
    return { content: [{ type: "text", text: "polled" }] };
  });
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new InMemoryEventStore(),
    retryInterval: 1,
  });
  await server.connect(transport);
  const http = createServer((req, res) => {
    methods.push(String(req.method));
    void transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    await server.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, methods, release };
}

describe("an earlier era's resumable stream through Breakwater (MCP 2025-11-25, SEP-1699; SPEC §8.1)", () => {
  it("judges a call whose stream the SDK 1.x server closed for polling neutral, and the client resumes it", async () => {
    const upstream = await resumableServer();
    const proxy = await proxyFor(upstream.url);
    cleanups.push(() => proxy.close());
    const client = new Client({ name: "resuming", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`), {
      reconnectionOptions: {
        initialReconnectionDelay: 1,
        maxReconnectionDelay: 10,
        reconnectionDelayGrowFactor: 1,
        maxRetries: 5,
      },
    });
    await client.connect(transport);
    cleanups.push(() => client.close());
    const call = client.callTool({ name: "poll", arguments: {} });
    // the client's resumption is a GET with Last-Event-ID, to the session's upstream
    await until(() => upstream.methods.includes("GET"), "the client resumes the stream");
    upstream.release();
    const result = await call;
    assert.deepEqual(result.content, [{ type: "text", text: "polled" }]);
    const circuit = proxy.breakwater.circuits.get("u")?.breaker.metrics();
    assert.equal(circuit?.failedRequests, 0);
  });
});

describe("stream ends judged by era (SPEC §8.1), raw upstreams", () => {
  /** An upstream answering every POST with an event stream that holds `events`, then ends. */
  const ending =
    (events: string): Handler =>
    (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" }).end(events);
    };
  const call = (modern: boolean) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: modern ? { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } } : {},
    });
  const headers = (modern: boolean) => ({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(modern ? { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" } : {}),
  });

  const cases: [string, string, boolean, number][] = [
    ["a priming event with an id (no retry), earlier era: neutral", "id: e-1\ndata: \n\n", false, 0],
    ["an event with an id and a retry, earlier era: neutral", "id: e-1\nretry: 3000\ndata: \n\n", false, 0],
    ["no event id, earlier era: a failure (stream_cut)", ": nothing\n\n", false, 1],
    ["an event with an id, 2026-07-28 (no resumption): a failure", "id: e-1\ndata: \n\n", true, 1],
  ];
  for (const [name, events, modern, failures] of cases) {
    it(`judges a stream closed before the answer after ${name}`, async () => {
      const fleet = await startFleet({ u: ending(events) });
      cleanups.push(fleet.close);
      const reply = await request(fleet.proxy.url, {
        method: "POST",
        headers: headers(modern),
        body: call(modern),
      });
      assert.equal(await reply.body.text(), events, "the client gets the stream as it was");
      const circuit = fleet.proxy.breakwater.circuits.get("u")?.breaker.metrics();
      assert.deepEqual([circuit?.totalRequests, circuit?.failedRequests], [failures, failures]);
    });
  }
});
