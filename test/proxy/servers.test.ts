import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import { type ResponseSink, transportFailure } from "../../src/upstreams/Upstream.ts";
import { type BareProxy, barePool, startBareProxy } from "../support/bareProxy.ts";
import { type Behaviour, FakeUpstream } from "../support/fakeUpstream.ts";
import { until } from "../support/until.ts";

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

/** Answers a protected-resource metadata document naming `resource` (RFC 9728). */
const metadata =
  (resource: string): Behaviour =>
  (sink) => {
    const body = JSON.stringify({ resource, authorization_servers: ["https://auth.example"] });
    sink.head(200, { "content-type": "application/json", "content-length": String(body.length) }, "OK");
    sink.data(Buffer.from(body));
    sink.end();
  };

/** Answers 401 pointing at the upstream's own metadata document. */
const challenge =
  (documentUrl: string): Behaviour =>
  (sink) => {
    const header = `Bearer resource_metadata="${documentUrl}"`;
    sink.head(401, { "www-authenticate": header, "content-length": "0" }, "Unauthorized");
    sink.end();
  };

describe("OAuth discovery among servers (SPEC §4.2, §7.1)", () => {
  it("makes each server's resource URL public under its own route", async () => {
    const a1 = new FakeUpstream("a1", [metadata("http://up-a.internal/mcp")]);
    const b1 = new FakeUpstream("b1", [
      metadata("http://up-b.internal/api"),
      challenge("http://up-b.internal/.well-known/oauth-protected-resource/api"),
    ]);
    const sessions = new SessionTokens([a1, b1], []);
    const routes = new RouteTable([
      barePool({
        name: "a",
        route: "/a",
        upstreams: [a1],
        sessions,
        upstreamUrls: new Map([[a1, new URL("http://up-a.internal/mcp")]]),
      }),
      barePool({
        name: "b",
        route: "/b/mcp",
        upstreams: [b1],
        sessions,
        upstreamUrls: new Map([[b1, new URL("http://up-b.internal/api")]]),
      }),
    ]);
    const proxy = await startBareProxy([], { routes });
    opened.push(() => proxy.close());
    const forA = await fetchText(`${proxy.url}/.well-known/oauth-protected-resource/a`);
    assert.equal(JSON.parse(forA.body).resource, `${proxy.url}/a`);
    const forB = await fetchText(`${proxy.url}/.well-known/oauth-protected-resource/b/mcp`);
    assert.equal(JSON.parse(forB.body).resource, `${proxy.url}/b/mcp`);
    // each went to its own server, as the resource behind that route
    assert.deepEqual(
      [a1, b1].map((u) => [u.dispatched.length, u.dispatched[0]?.discovery?.inRoute]),
      [
        [1, true],
        [1, true],
      ],
    );
    const refused = await fetchText(`${proxy.url}/b/mcp`, post);
    assert.equal(refused.status, 401);
    assert.equal(
      refused.headers["www-authenticate"],
      `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/b/mcp"`,
    );
    // among several servers a bare document names none of them
    assert.equal((await fetchText(`${proxy.url}/.well-known/oauth-protected-resource`)).status, 404);
  });
});

/** Sends a POST whose body is held back until `rest` is called; resolves with the answer. */
function heldPost(url: string, body: string) {
  const half = Math.floor(body.length / 2);
  let rest = () => {};
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(body.length) },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.write(body.slice(0, half));
    rest = () => req.end(body.slice(half));
  });
  return { answer, rest: () => rest() };
}

describe("a reload while requests are under way (SPEC §6.3, §7.1)", () => {
  it("a request whose body arrives after a reload runs on the new table", async () => {
    const [a1, a2, g1] = [new FakeUpstream("a1"), new FakeUpstream("a2"), new FakeUpstream("g1")];
    const before = new RouteTable([
      barePool({ name: "a", route: "/a", upstreams: [a1] }),
      barePool({ name: "g", route: "/g", upstreams: [g1] }),
    ]);
    const proxy = await startBareProxy([], { routes: before });
    opened.push(() => proxy.close());
    // the edge is asked about each request as its head arrives, before its body is read
    const edge = proxy.options.edge;
    const asked = edge.refusal.bind(edge);
    let heads = 0;
    edge.refusal = (headers) => {
      heads++;
      return asked(headers);
    };
    const toA = heldPost(`${proxy.url}/a`, call);
    const toGone = heldPost(`${proxy.url}/g`, call);
    await until(() => heads === 2, "both heads read");
    const after = new RouteTable([barePool({ name: "a", route: "/a", upstreams: [a2] })]);
    proxy.server.reconfigure({ ...proxy.options, routes: after });
    toA.rest();
    toGone.rest();
    assert.deepEqual(await toA.answer, { status: 200, body: '"a2"' });
    const gone = await toGone.answer;
    assert.equal(gone.status, 404);
    assert.deepEqual(JSON.parse(gone.body), { error: "not found: this proxy serves /a" });
    assert.equal(a1.dispatched.length + g1.dispatched.length, 0, "nothing went by the old table");
  });

  it("failover after a reload never picks a removed upstream", async () => {
    const held: ResponseSink[] = [];
    const hold: Behaviour = (sink) => held.push(sink);
    const [a1, a2, a3] = [
      new FakeUpstream("a1", [hold, hold]),
      new FakeUpstream("a2"),
      new FakeUpstream("a3"),
    ];
    const before = new RouteTable([
      barePool({ name: "a", route: "/a", upstreams: [a1, a2], loadBalancing: "failover" }),
    ]);
    const proxy = await startBareProxy([], { routes: before });
    opened.push(() => proxy.close());
    const refused = () => transportFailure(new Error("refused"), { nothingSent: true });

    // a2 removed, a3 added: the request a1 could not send goes to a3
    const first = fetchText(`${proxy.url}/a`);
    await until(() => held.length === 1, "a1 holding the first request");
    const kept = barePool({ name: "a", route: "/a", upstreams: [a1, a3], loadBalancing: "failover" });
    proxy.server.reconfigure({ ...proxy.options, routes: new RouteTable([kept]) });
    held[0]?.error(refused());
    assert.equal((await first).body, '"a3"');

    // server a removed: nothing to fail over to; the proxy answers for a1
    const second = fetchText(`${proxy.url}/a`);
    await until(() => held.length === 2, "a1 holding the second request");
    const other = barePool({ name: "b", route: "/b", upstreams: [new FakeUpstream("b1")] });
    proxy.server.reconfigure({ ...proxy.options, routes: new RouteTable([other]) });
    held[1]?.error(refused());
    const answer = await second;
    assert.equal(answer.status, 502);
    assert.equal(JSON.parse(answer.body).upstream, "a1");
    assert.equal(a2.dispatched.length, 0, "the removed upstream took nothing");
  });
});
