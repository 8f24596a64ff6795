import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import type { CircuitBreaker } from "../../src/index.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { until } from "../support/until.ts";
import { echo, hang, refusedPort, status } from "../support/upstream.ts";
import {
  modernHeaders,
  modernRequest,
  modernStdioRig,
  poolRig,
  sdk2,
  toolsList,
  upstream,
} from "./poolClientRig.ts";

/** An upstream at its max_in_flight: it takes nothing. */
function fullUpstream(name: string, circuit: CircuitBreaker): Upstream {
  return {
    name,
    circuit,
    inFlight: 1,
    maxInFlight: 1,
    servesSessionless: true,
    dispatch: () => assert.fail("nothing is sent to a full upstream"),
    healthCheck: () => undefined,
    close: async () => {},
  };
}

describe("PoolRequests: Breakwater's own requests to a pool", () => {
  it("lists an SDK 2.x server's tools over HTTP, judged by the pool's judge: the tool catalogue learns the names", async () => {
    const server = await sdk2("a");
    const { pool, client, settled, catalogs, upstreams } = poolRig([server.url]);
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "answer");
    assert.equal(answer.upstream, upstreams[0]);
    assert.equal(answer.status, 200);
    const tools = (answer.message["result"] as { tools: { name: string }[] }).tools.map((t) => t.name);
    assert.ok(tools.includes("echo"), tools.join());
    assert.deepEqual(
      settled.map((s) => s.outcome),
      ["success"],
    );
    assert.equal(catalogs.get(upstreams[0]?.name ?? "")?.lists("echo"), true);
    assert.equal(server.seen[0]?.headers["content-type"], "application/json");
    assert.equal(server.seen[0]?.headers.accept, "application/json, text/event-stream");
  });

  it("asks a modern stdio upstream and reads its answer", async () => {
    const { pool, client, settled } = modernStdioRig();
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 10_000,
    });
    assert.equal(answer.kind, "answer");
    assert.ok(Array.isArray((answer.message["result"] as { tools: unknown[] }).tools));
    assert.deepEqual(
      settled.map((s) => s.outcome),
      ["success"],
    );
  });

  it("passes each message of an answer's event stream that is not the response to onMessage, as it comes", async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n');
      res.write('data: {"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}\n\n');
      res.end('data: {"jsonrpc":"2.0","id":"list:1","result":{"tools":[]}}\n\n');
    });
    const { pool, client, upstreams } = poolRig([server.url]);
    const messages: [unknown, string][] = [];
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
      onMessage: (message, from) => messages.push([message["method"], from.name]),
    });
    assert.equal(answer.kind, "answer");
    assert.deepEqual(answer.message, { jsonrpc: "2.0", id: "list:1", result: { tools: [] } });
    const name = upstreams[0]?.name as string;
    assert.deepEqual(messages, [
      ["notifications/progress", name],
      ["sampling/createMessage", name],
    ]);
  });

  it("keeps a standing request (subscriptions/listen) until its stream ends, each message to onMessage", async () => {
    const server = await sdk2("listening");
    const { pool, client } = poolRig([server.url]);
    const methods: unknown[] = [];
    const listen = modernRequest("listen:1", "subscriptions/listen", {
      notifications: { toolsListChanged: true },
    });
    let ended = false;
    const answering = client
      .request(pool, listen, {
        headers: modernHeaders("subscriptions/listen"),
        timeoutMs: Number.POSITIVE_INFINITY,
        onMessage: (message) => methods.push(message["method"]),
      })
      .finally(() => (ended = true));
    await until(() => methods.length === 1, "the listen is acknowledged");
    server.handler.notify.toolsChanged();
    await until(() => methods.includes("notifications/tools/list_changed"), "the change comes through");
    assert.equal(ended, false, "the listen stands");
    await server.handler.close();
    const answer = await answering;
    assert.equal(answer.kind, "answer", "the listen's response ends its stream");
    assert.equal(answer.message["id"], "listen:1");
    assert.ok("result" in answer.message);
  });

  it("resolves a notification on the upstream's 202", async () => {
    const server = await upstream((_req, res) => void res.writeHead(202).end());
    const { pool, client } = poolRig([server.url]);
    const answer = await client.request(
      pool,
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { timeoutMs: 5_000 },
    );
    assert.equal(answer.kind, "answer");
    assert.equal(answer.status, 202);
  });

  it("is refused, sending nothing, when no upstream's circuit admits it", async () => {
    const server = await upstream(echo("never"));
    const { pool, client, upstreams } = poolRig([server.url]);
    upstreams[0]?.circuit.forceOpen();
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "refused");
    assert.ok(answer.retryAfterMs !== undefined && answer.retryAfterMs > 0);
    const stream = await client.stream(upstreams[0] as Upstream, {}, () => {}, new AbortController().signal);
    assert.equal(stream, "circuit_open");
    assert.equal(server.seen.length, 0);
  });

  it("tells of an upstream skipped at its max_in_flight, and is refused; its GET stream too", async () => {
    const told: string[] = [];
    const { pool, client, upstreams } = poolRig(["http://127.0.0.1:9/full"], {
      make: (u, circuit) => fullUpstream(u.name, circuit),
      onOverloaded: (u) => told.push(u.name),
    });
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "refused");
    const stream = await client.stream(upstreams[0] as Upstream, {}, () => {}, new AbortController().signal);
    assert.equal(stream, "overloaded");
    assert.equal(told.length, 2);
  });

  it("fails on a 500, and the upstream's circuit counts the failure", async () => {
    const server = await upstream(status(500));
    const { pool, client, upstreams } = poolRig([server.url]);
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "failed");
    assert.equal(answer.status, 500);
    assert.equal(upstreams[0]?.circuit.metrics().failedRequests, 1);
    assert.equal(upstreams[0]?.circuit.state, "open");
  });

  it("fails when the answer's body is cut short, a failure of the upstream's circuit", async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"jsonrpc":"2.0",');
      setImmediate(() => res.destroy());
    });
    const { pool, client, upstreams } = poolRig([server.url]);
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "failed");
    assert.match(answer.kind === "failed" ? answer.reason : "", /cut short/);
    assert.equal(upstreams[0]?.circuit.metrics().failedRequests, 1);
  });

  it("gives up a request its signal aborts, neutral for the upstream's circuit", async () => {
    const server = await upstream(hang);
    const { pool, client, upstreams, settled } = poolRig([server.url]);
    const abort = new AbortController();
    const answering = client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
      signal: abort.signal,
    });
    await until(() => server.seen.length === 1, "the request reaches the upstream");
    abort.abort();
    const answer = await answering;
    assert.equal(answer.kind, "failed");
    assert.deepEqual(
      settled.map((s) => s.outcome),
      ["neutral"],
    );
    assert.equal(upstreams[0]?.circuit.metrics().failedRequests, 0);
  });

  it("fails after timeoutMs when the upstream stays silent, a failure of its circuit", async () => {
    const server = await upstream(hang);
    const timers = new ManualTimers();
    const { pool, client, upstreams } = poolRig([server.url], { timers });
    const answering = client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 2_000,
    });
    await until(() => server.seen.length === 1, "the request reaches the upstream");
    await timers.advance(1_999);
    let settled = false;
    void answering.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "not before timeoutMs");
    await timers.advance(1);
    const answer = await answering;
    assert.equal(answer.kind, "failed");
    assert.match(answer.kind === "failed" ? answer.reason : "", /2000 ms/);
    assert.equal(upstreams[0]?.circuit.metrics().failedRequests, 1);
    await until(() => server.aborted() === 1, "the upstream request is aborted");
  });

  it("fails over once to another upstream when nothing was sent, and not when bound", async () => {
    const port = await refusedPort();
    const server = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"jsonrpc":"2.0","id":"list:1","result":{"tools":[]}}');
    });
    const { pool, client, upstreams, settled } = poolRig([`http://127.0.0.1:${port}/mcp`, server.url]);
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "answer");
    assert.equal(answer.upstream, upstreams[1]);
    assert.deepEqual(
      settled.map((s) => s.outcome),
      ["failure", "success"],
    );
    upstreams[0]?.circuit.reset();
    const bound = await client.request(pool, toolsList, {
      bound: upstreams[0],
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(bound.kind, "failed");
    assert.equal(server.seen.length, 1);
  });

  it("fails an answer larger than the bytes it reads", async () => {
    const server = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: "list:1", result: { tools: [], pad: "x".repeat(4096) } }));
    });
    const { pool, client } = poolRig([server.url], { maxMessageBytes: 1024 });
    const answer = await client.request(pool, toolsList, {
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(answer.kind, "failed");
  });
});

describe("PoolRequests.stream: an earlier-era session's GET stream", () => {
  it("passes each message to onMessage and resolves when the stream ends", async () => {
    let stream: ServerResponse | undefined;
    const server = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n');
      stream = res;
    });
    const { client, upstreams } = poolRig([server.url]);
    const methods: unknown[] = [];
    const ending = client.stream(
      upstreams[0] as Upstream,
      { "Mcp-Session-Id": "s-1" },
      (message) => methods.push(message["method"]),
      new AbortController().signal,
    );
    await until(() => methods.length === 1, "the first message");
    stream?.end('data: {"jsonrpc":"2.0","method":"notifications/resources/list_changed"}\n\n');
    assert.equal(await ending, "ended");
    assert.deepEqual(methods, ["notifications/tools/list_changed", "notifications/resources/list_changed"]);
    assert.equal(server.seen[0]?.method, "GET");
    assert.equal(server.seen[0]?.headers["mcp-session-id"], "s-1");
  });

  it("ends the stream when its signal aborts", async () => {
    const server = await upstream(
      (_req, res) => void res.writeHead(200, { "content-type": "text/event-stream" }).write(":\n\n"),
    );
    const { client, upstreams } = poolRig([server.url]);
    const abort = new AbortController();
    const ending = client.stream(upstreams[0] as Upstream, {}, () => {}, abort.signal);
    await until(() => server.seen.length === 1, "the stream is open");
    abort.abort();
    assert.match(await ending, /aborted/);
    await until(() => server.aborted() === 1, "the upstream request is aborted");
  });
});
