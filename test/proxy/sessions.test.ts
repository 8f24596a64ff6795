import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { SessionTable } from "../../src/proxy/SessionTable.ts";
import { ManualClock } from "../support/ManualClock.ts";
import { rpc, startFleet, startProxy, upstreamsToml } from "../support/proxy.ts";
import { type Handler, refusedPort, startUpstream, type TestUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/**
 * A tiny MCP-like server: `initialize` creates a session; other calls need a session it knows. Every
 * answer says which server gave it (`x-upstream`). `refuseDelete`: DELETE is answered 405, as a server
 * that does not let clients end sessions does.
 */
function mcpServer(name: string, { refuseDelete = false } = {}): Handler {
  const sessions = new Set<string>();
  let next = 0;
  return (req, res, body) => {
    const message = body ? (JSON.parse(body) as { id?: unknown; method?: string }) : {};
    const session = req.headers["mcp-session-id"];
    res.setHeader("x-upstream", name);
    if (req.method === "DELETE" && typeof session === "string") {
      if (refuseDelete) {
        res.writeHead(405, { allow: "GET, POST" }).end();
        return;
      }
      sessions.delete(session);
      res.writeHead(200).end();
      return;
    }
    if (message.method === "initialize") {
      const id = `${name}-${++next}`;
      sessions.add(id);
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": id, "x-upstream": name });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: {} }));
      return;
    }
    if (typeof session !== "string" || !sessions.has(session)) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: message.id ?? null,
          error: { code: -32001, message: "Session not found" },
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "x-upstream": name, "mcp-session-id": session });
    res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { upstream: name } }));
  };
}

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

  it("ends the binding with DELETE, after which the session id is balanced like any request", async () => {
    const { a, b, proxy } = await twoServers();
    const init = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    const deleted = await call(proxy.url, "", init.session, "DELETE");
    assert.equal(deleted.status, 200);
    const before = a.seen.length + b.seen.length;
    const replies = [
      await call(proxy.url, rpc(1), init.session),
      await call(proxy.url, rpc(2), init.session),
    ];
    assert.deepEqual(
      replies.map((r) => r.status),
      [404, 404],
      "the upstreams no longer know the session",
    );
    assert.equal(a.seen.length + b.seen.length, before + 2);
    assert.deepEqual(
      new Set(replies.map((r) => r.upstream)),
      new Set(["a", "b"]),
      "balanced again: round robin sent the two requests to both upstreams",
    );
  });

  it("keeps the binding when the upstream refuses to end the session (405)", async () => {
    const { proxy, close } = await startFleet({
      a: mcpServer("a", { refuseDelete: true }),
      b: mcpServer("b", { refuseDelete: true }),
    });
    opened.push(close);
    const init = await call(proxy.url, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize" }));
    const refused = await call(proxy.url, "", init.session, "DELETE");
    assert.equal(refused.status, 405);
    const replies = [
      await call(proxy.url, rpc(1), init.session),
      await call(proxy.url, rpc(2), init.session),
    ];
    assert.deepEqual(
      replies.map((r) => [r.status, r.upstream]),
      [
        [200, init.upstream],
        [200, init.upstream],
      ],
      "the session lives on, on its upstream",
    );
  });

  it("balances a request whose session id was never bound", async () => {
    const { proxy } = await twoServers();
    const reply = await call(proxy.url, rpc(1), "from-before-a-restart");
    assert.equal(reply.status, 404, "the upstream says it does not know the session");
  });
});

describe("SessionTable", () => {
  it("forgets the least recently used session past its bound", () => {
    const table = new SessionTable<string>({ maxSessions: 2, idleMs: 1_000, clock: new ManualClock() });
    table.bind("s1", "a");
    table.bind("s2", "b");
    table.lookup("s1");
    table.bind("s3", "c");
    assert.deepEqual(
      [table.lookup("s1"), table.lookup("s2"), table.lookup("s3"), table.size],
      ["a", undefined, "c", 2],
    );
  });

  it("forgets a session unused for idleMs, and keeps one in use", () => {
    const clock = new ManualClock();
    const table = new SessionTable<string>({ maxSessions: 10, idleMs: 1_000, clock });
    table.bind("busy", "a");
    table.bind("idle", "b");
    for (let i = 0; i < 3; i++) {
      clock.advance(600);
      assert.equal(table.lookup("busy"), "a");
    }
    assert.equal(table.lookup("idle"), undefined);
    assert.equal(table.size, 1);
  });

  it("ends a binding on request", () => {
    const table = new SessionTable<string>({ maxSessions: 10, idleMs: 1_000, clock: new ManualClock() });
    table.bind("s", "a");
    table.end("s");
    assert.equal(table.lookup("s"), undefined);
  });
});
