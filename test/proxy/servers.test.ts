import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import { transportFailure } from "../../src/upstreams/Upstream.ts";
import { type BareProxy, barePool, startBareProxy } from "../support/bareProxy.ts";
import { type Behaviour, FakeUpstream } from "../support/fakeUpstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** Two servers, `a` on /a and `b` on /b, two replicas each, sharing one set of session tokens. */
async function twoServers(scripts: Record<string, Behaviour[]> = {}) {
  const [a1, a2, b1, b2] = ["a1", "a2", "b1", "b2"].map((name) => new FakeUpstream(name, scripts[name]));
  const all = [a1, a2, b1, b2] as FakeUpstream[];
  const sessions = new SessionTokens(all, []);
  const a = barePool({ name: "a", route: "/a", upstreams: [a1, a2] as FakeUpstream[], sessions });
  const b = barePool({ name: "b", route: "/b", upstreams: [b1, b2] as FakeUpstream[], sessions });
  const proxy = await startBareProxy([], { routes: new RouteTable([a, b]) });
  opened.push(() => proxy.close());
  return { proxy, sessions, a1, a2, b1, b2 } as {
    proxy: BareProxy;
    sessions: SessionTokens;
    a1: FakeUpstream;
    a2: FakeUpstream;
    b1: FakeUpstream;
    b2: FakeUpstream;
  };
}

async function fetchText(url: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(url, init);
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const call = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "x" } });
const post = { method: "POST" as const, body: call, headers: { "content-type": "application/json" } };

describe("many servers behind one proxy (SPEC §7.1)", () => {
  it("answers 404 outside every route, naming no route", async () => {
    const { proxy, a1, a2, b1, b2 } = await twoServers();
    const answer = await fetchText(`${proxy.url}/c`);
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), {
      error: "not found: no route of this proxy serves this path",
    });
    assert.equal(await fetchText(`${proxy.url}/ab`).then((r) => r.status), 404);
    for (const u of [a1, a2, b1, b2]) assert.equal(u.dispatched.length, 0);
  });

  it("balances and fails over among one server's upstreams only", async () => {
    // a1 fails its first request before sending a byte: it goes to another upstream, of a's
    const nothingSent: Behaviour = (sink) =>
      sink.error(transportFailure(new Error("refused"), { nothingSent: true }));
    const { proxy, a1, b1, b2 } = await twoServers({ a1: [nothingSent] });
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await fetchText(`${proxy.url}/a/mcp`)).body);
    for (let i = 0; i < 2; i++) bodies.push((await fetchText(`${proxy.url}/b/mcp?x=1`)).body);
    assert.deepEqual(bodies, ['"a2"', '"a1"', '"a2"', '"b1"', '"b2"']);
    assert.equal(a1.dispatched.length, 2, "a1 was tried, then took its turn");
    assert.equal(b1.dispatched.length + b2.dispatched.length, 2, "only b's own requests reached b");
    assert.deepEqual(
      [b1, b2].map((u) => u.dispatched[0]?.target),
      ["/mcp?x=1", "/mcp?x=1"],
    );
  });

  it("a sessionless call on server A never reaches B even when all of A's circuits are open (503 naming A's upstream)", async () => {
    const { proxy, a1, a2, b1, b2 } = await twoServers();
    a1.circuit.forceOpen();
    a2.circuit.forceOpen();
    const answer = await fetchText(`${proxy.url}/a`, post);
    assert.equal(answer.status, 503);
    const error = JSON.parse(answer.body).error;
    assert.equal(error.data.reason, "circuit_open");
    assert.ok(["a1", "a2"].includes(error.data.upstream), answer.body);
    for (const u of [a1, a2, b1, b2]) assert.equal(u.dispatched.length, 0);
  });

  it("a session token of A's upstream sent on B's route is an unknown session: 404 -32001, nothing forwarded", async () => {
    const { proxy, sessions, a1, a2, b1, b2 } = await twoServers();
    const token = sessions.sealed({ "mcp-session-id": "s-1" }, a1)["mcp-session-id"] as string;
    const headers = { ...post.headers, "mcp-session-id": token };
    const crossed = await fetchText(`${proxy.url}/b`, { ...post, headers });
    assert.equal(crossed.status, 404);
    assert.equal(JSON.parse(crossed.body).error.code, -32001);
    for (const u of [a1, a2, b1, b2]) assert.equal(u.dispatched.length, 0);
    // on its own server's route the token reaches its upstream, with the upstream's own session id
    const own = await fetchText(`${proxy.url}/a`, { ...post, headers });
    assert.equal(own.status, 200);
    assert.equal(a1.dispatched.length, 1);
    const sent = a1.dispatched[0]?.rawHeaders ?? [];
    assert.equal(sent[sent.findIndex((h) => h.toLowerCase() === "mcp-session-id") + 1], "s-1");
  });
});
