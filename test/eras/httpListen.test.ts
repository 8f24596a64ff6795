import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/client";
import { request } from "undici";
import { ManualTimers } from "../support/ManualTimers.ts";
import { startFleet } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { modernClient, proxyFor, type SdkServer, startSdkServer } from "./httpSdkServer.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** An SDK 2.x server with one tool, and Breakwater in front of it with deadlines on stepped time. */
async function fleet(toml: string) {
  const sdk: SdkServer = await startSdkServer((server) => {
    server.registerTool("echo", {}, async () => ({ content: [{ type: "text", text: "hi" }] }));
  });
  cleanups.push(() => sdk.close());
  const timers = new ManualTimers();
  const proxy = await proxyFor(sdk.url, toml, timers);
  cleanups.push(() => proxy.close());
  const circuit = () => proxy.breakwater.circuits.get("u")?.breaker.metrics();
  const connect = async (): Promise<Client> => {
    const client = await modernClient(`${proxy.url}/mcp`);
    cleanups.push(() => client.close());
    return client;
  };
  return { sdk, proxy, timers, circuit, connect };
}

describe("subscriptions/listen through Breakwater (SPEC §8.1), SDK 2.x client and server at 2026-07-28", () => {
  it("keeps an acknowledged listen stream past answer_timeout_ms and max_answer_ms, and passes a tools/list_changed sent after", async () => {
    const { sdk, timers, circuit, connect } = await fleet(
      "[proxy]\nanswer_timeout_ms = 1000\nmax_answer_ms = 5000",
    );
    const client = await connect();
    const changes: string[] = [];
    client.setNotificationHandler("notifications/tools/list_changed", (n) => void changes.push(n.method));
    const before = circuit()?.totalRequests ?? 0;
    const subscription = await client.listen({ toolsListChanged: true });
    let closed: string | undefined;
    void subscription.closed.then((how) => (closed = how));
    assert.deepEqual(
      [circuit()?.totalRequests, circuit()?.failedRequests],
      [before + 1, 0],
      "the acknowledgement is the listen's success",
    );
    await timers.advance(60_000); // far past answer_timeout_ms and max_answer_ms
    sdk.handler.notify.toolsChanged();
    await until(() => changes.length === 1, "the list_changed notification reaches the client");
    assert.equal(closed, undefined, "the stream is still open");
    await sdk.handler.close(); // the server ends the stream: after the acknowledgement, no failure
    await until(() => closed !== undefined, "the subscription closes");
    assert.deepEqual(
      [circuit()?.totalRequests, circuit()?.failedRequests],
      [before + 1, 0],
      "its end is no outcome",
    );
  });

  it("does not open the circuit for three clients holding listen streams past the answer timeout", async () => {
    const { timers, circuit, connect, proxy } = await fleet(
      "[proxy]\nanswer_timeout_ms = 1000\n[proxy.circuit_breaker]\nfailure_threshold = 3",
    );
    const clients = [await connect(), await connect(), await connect()];
    const subscriptions = await Promise.all(clients.map((c) => c.listen({ toolsListChanged: true })));
    for (let i = 0; i < 5; i++) await timers.advance(1_000);
    for (const subscription of subscriptions) await subscription.close();
    assert.equal(proxy.breakwater.circuits.get("u")?.breaker.state, "closed");
    assert.equal(circuit()?.failedRequests, 0);
    const tools = await clients[0]?.listTools();
    assert.deepEqual(
      tools?.tools.map((t) => t.name),
      ["echo"],
    );
  });

  it("fails a listen stream that stays unacknowledged for answer_timeout_ms, and ends it with an error for the listen id", async () => {
    // an upstream that opens the listen stream and sends nothing but keep-alive comments
    const streams: ServerResponse[] = [];
    const timers = new ManualTimers();
    const fleet = await startFleet(
      {
        u: (_req, res) => {
          res.writeHead(200, { "content-type": "text/event-stream" }).write(":\n\n");
          streams.push(res);
        },
      },
      "[proxy]\nanswer_timeout_ms = 1000",
      {},
      { timers },
    );
    cleanups.push(fleet.close);
    const listen = {
      jsonrpc: "2.0",
      id: "listen:1",
      method: "subscriptions/listen",
      params: {
        notifications: { toolsListChanged: true },
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    };
    const reply = await request(fleet.proxy.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "subscriptions/listen",
      },
      body: JSON.stringify(listen),
    });
    const chunks = reply.body[Symbol.asyncIterator]();
    await chunks.next(); // the keep-alive has passed the proxy
    await timers.advance(999);
    const circuit = () => fleet.proxy.breakwater.circuits.get("u")?.breaker.metrics();
    assert.equal(circuit()?.failedRequests, 0, "not yet");
    streams[0]?.write(":\n\n"); // comments are no acknowledgement: silence is what the wait measures
    await chunks.next();
    await timers.advance(1);
    let rest = "";
    for (let chunk = await chunks.next(); !chunk.done; chunk = await chunks.next())
      rest += String(chunk.value);
    assert.match(rest, /"id":"listen:1","error":\{"code":-32603/);
    assert.equal(circuit()?.failedRequests, 1);
  });
});
