import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { rpc, startFleet, startProxy, upstreamsToml } from "../support/proxy.ts";
import { sessionServer as mcpServer } from "../support/sessionServer.ts";
import { refusedPort, startUpstream, type TestUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function call(url: string, body: string, session?: string, method = "POST") {
  const res = await request(url, {
    method: method as "POST",
    body: method === "POST" ? body : null,
    headers: { "content-type": "application/json", ...(session ? { "mcp-session-id": session } : {}) },
  });
  const text = await res.body.text();
  const header = res.headers["mcp-session-id"];
  return {
    status: res.statusCode,
    text,
    session: typeof header === "string" ? header : undefined,
    upstream: res.headers["x-upstream"],
  };
}

async function twoServers() {
  const { proxy, upstreams, close } = await startFleet({ a: mcpServer("a"), b: mcpServer("b") });
  opened.push(close);
  return { a: upstreams["a"] as TestUpstream, b: upstreams["b"] as TestUpstream, proxy };
}

describe("MCP sessions", () => {
  it("sends every request of a session to the upstream that created it, whatever the balancing", async () => {
    const { proxy } = await twoServers();
    const first = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    const second = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    assert.notEqual(
      first.upstream,
      second.upstream,
      "round robin put the two sessions on different upstreams",
    );
    for (let i = 1; i <= 4; i++) {
      const reply = await call(proxy.url, rpc(i), first.session);
      assert.deepEqual([reply.status, reply.upstream], [200, first.upstream]);
    }
  });

  it("answers 404 with a JSON-RPC error carrying the id when the session's upstream is open", async () => {
    const { proxy } = await twoServers();
    const init = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    proxy.breakwater.upstreams.find((u) => u.name === init.upstream)?.circuit.forceOpen();
    const reply = await call(proxy.url, rpc(42), init.session);
    assert.equal(reply.status, 404);
    const body = JSON.parse(reply.text) as {
      id: number;
      error: { code: number; data: { upstream: string } };
    };
    assert.deepEqual([body.id, body.error.code, body.error.data.upstream], [42, -32001, init.upstream]);
    // the client starts a new session, which lands on the healthy upstream
    const again = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize" }));
    assert.equal(again.status, 200);
    assert.notEqual(again.upstream, init.upstream);
  });

  it("never retries a session's request on another upstream: a refused connection is a 502 and a failure", async () => {
    const port = await refusedPort();
    const a = await startUpstream(mcpServer("a"));
    const proxy = await startProxy(
      upstreamsToml([
        { name: "a", url: a.url },
        { name: "dead", url: `http://127.0.0.1:${port}` },
      ]),
    );
    opened.push(
      () => a.close(),
      () => proxy.close(),
    );
    const init = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    assert.equal(init.upstream, "a");
    await a.close();
    const reply = await call(proxy.url, rpc(5), init.session);
    assert.equal(reply.status, 502);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.metrics().failedRequests, 1);
  });

  it("after DELETE, routes the session's token to its upstream still, which answers 404 for the ended session", async () => {
    const { a, b, proxy } = await twoServers();
    const init = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    const deleted = await call(proxy.url, "", init.session, "DELETE");
    assert.equal(deleted.status, 200);
    const home = init.upstream === "a" ? a : b;
    const before = home.seen.length;
    const reply = await call(proxy.url, rpc(1), init.session);
    assert.deepEqual([reply.status, reply.upstream], [404, init.upstream]);
    assert.equal(home.seen.length, before + 1);
  });

  it("never shows the client an upstream's session id, and sends the upstream its own", async () => {
    const { a, b, proxy } = await twoServers();
    const init = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    assert.match(init.session ?? "", /^bw1\.[A-Za-z0-9_-]+$/);
    assert.doesNotMatch(init.session ?? "", /^(a|b)-\d/);
    await call(proxy.url, rpc(1), init.session);
    const seen = [...a.seen, ...b.seen].at(-1);
    assert.equal(seen?.headers["mcp-session-id"], `${init.upstream}-1`);
  });

  it("answers 404 (unknown_session) for a token that does not open: forged, or from another fleet", async () => {
    const { a, b, proxy } = await twoServers();
    for (const token of [
      "from-before-a-restart",
      "bw1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]) {
      const reply = await call(proxy.url, rpc(3), token);
      assert.equal(reply.status, 404);
      const body = JSON.parse(reply.text) as {
        id: number;
        error: { code: number; data: { reason: string } };
      };
      assert.deepEqual([body.id, body.error.code, body.error.data.reason], [3, -32001, "unknown_session"]);
    }
    assert.equal(a.seen.length + b.seen.length, 0, "nothing was forwarded");
  });

  it("routes a session through any replica with the same keys, and after a restart (SPEC §6.1)", async () => {
    const a = await startUpstream(mcpServer("a"));
    const b = await startUpstream(mcpServer("b"));
    const key = randomBytes(32).toString("base64");
    const toml = `[fleet]\nsession_keys = ["${key}"]\n${upstreamsToml([
      { name: "a", url: a.url },
      { name: "b", url: b.url },
    ])}`;
    const one = await startProxy(toml);
    const two = await startProxy(toml);
    const stranger = await startProxy(
      upstreamsToml([
        { name: "a", url: a.url },
        { name: "b", url: b.url },
      ]),
    );
    opened.push(
      () => a.close(),
      () => b.close(),
      () => one.close(),
      () => two.close(),
      () => stranger.close(),
    );
    const init = await call(one.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    for (let i = 1; i <= 3; i++) {
      const reply = await call(two.url, rpc(i), init.session);
      assert.deepEqual([reply.status, reply.upstream], [200, init.upstream], "the other replica routes it");
    }
    await one.close();
    const restarted = await startProxy(toml);
    opened.push(() => restarted.close());
    assert.deepEqual((await call(restarted.url, rpc(9), init.session)).status, 200);
    assert.equal((await call(stranger.url, rpc(10), init.session)).status, 404, "a proxy without the keys");
  });
});
