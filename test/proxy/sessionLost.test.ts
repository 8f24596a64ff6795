import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { CircuitBreaker } from "../../src/index.ts";
import type { Call } from "../../src/proxy/Call.ts";
import type { Endpoint } from "../../src/proxy/Endpoint.ts";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { type Upstream, type UpstreamRequest, upstreamRequest } from "../../src/upstreams/Upstream.ts";
import { barePool, plainCalls, startBareProxy } from "../support/bareProxy.ts";
import { echo, type Handler, startUpstream, type TestUpstream } from "../support/upstream.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** An upstream that no longer knows any session: 404, with a body the client must never see. */
const sessionGone: Handler = (_req, res) => {
  res.writeHead(404, { "content-type": "application/json" }).end('{"upstream":"forgot it"}');
};

/** Upstreams on listen(0) answering with `handlers`, as HttpUpstreams named u0, u1, … */
async function upstreams(...handlers: Handler[]): Promise<{ servers: TestUpstream[]; http: HttpUpstream[] }> {
  const servers: TestUpstream[] = [];
  const http: HttpUpstream[] = [];
  for (const [i, handler] of handlers.entries()) {
    const server = await startUpstream(handler);
    opened.push(() => server.close());
    const { config } = loadConfig({ upstreams: [server.url] });
    const upstream = new HttpUpstream(
      { ...(config.upstreams[0] as (typeof config.upstreams)[0]), name: `u${i}` },
      new CircuitBreaker({ name: `u${i}`, failureThreshold: 1 }),
      5_000,
    );
    opened.push(() => upstream.close());
    servers.push(server);
    http.push(upstream);
  }
  return { servers, http };
}

/** The request sent in the new session: the same one, with that session's header. */
function inNewSession(request: UpstreamRequest): UpstreamRequest {
  return { ...request, rawHeaders: [...request.rawHeaders, "Mcp-Session-Id", "renewed"] };
}

/** Calls judged by status (5xx failures) whose session, when lost, `renew` renews; `renewals` counts asks. */
function sessionCalls(
  renew: (request: UpstreamRequest) => { request: UpstreamRequest; bound: Upstream } | undefined,
) {
  const asked = { renewals: 0 };
  return {
    asked,
    calls: {
      read: (request: UpstreamRequest): Call => ({
        judge: plainCalls.read(request, {}).judge,
        sessionLost: async () => {
          asked.renewals++;
          return renew(request);
        },
      }),
    },
  };
}

async function post(url: string) {
  const res = await request(url, {
    method: "POST",
    body: '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t"}}',
    headers: { "content-type": "application/json" },
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe("a call in a session the proxy holds, when the upstream has lost it (404)", () => {
  it("shows the client nothing of the 404 and sends the call once to the session sessionLost returns", async () => {
    const { servers, http } = await upstreams(sessionGone, echo("second"));
    const [, second] = http as [HttpUpstream, HttpUpstream];
    const { asked, calls } = sessionCalls((request) => ({ request: inNewSession(request), bound: second }));
    const proxy = await startBareProxy(http, { calls });
    opened.push(() => proxy.close());

    const answer = await post(proxy.url);
    assert.equal(answer.status, 200);
    const echoed = JSON.parse(answer.text) as { upstream: string; headers: Record<string, string> };
    assert.equal(echoed.upstream, "second");
    assert.equal(echoed.headers["mcp-session-id"], "renewed");
    assert.equal(asked.renewals, 1);
    assert.equal(servers[0]?.seen.length, 1);
    // the lost session's 404 is neutral: the upstream did not act on the call
    assert.deepEqual(
      proxy.settled.map((s) => [s.upstream.name, s.outcome]),
      [
        ["u0", "neutral"],
        ["u1", "success"],
      ],
    );
    assert.equal(http[0]?.circuit.state, "closed");
  });

  it("answers a 502 session_lost JSON-RPC error when the new session's upstream answers 404 too", async () => {
    const { servers, http } = await upstreams(sessionGone, sessionGone);
    const [, second] = http as [HttpUpstream, HttpUpstream];
    const { asked, calls } = sessionCalls((request) => ({ request: inNewSession(request), bound: second }));
    const proxy = await startBareProxy(http, { calls });
    opened.push(() => proxy.close());

    const answer = await post(proxy.url);
    assert.equal(answer.status, 502);
    assert.deepEqual(JSON.parse(answer.text), {
      jsonrpc: "2.0",
      id: 7,
      error: {
        code: -32603,
        message: "Upstream unavailable",
        data: { reason: "session_lost", upstream: "u1" },
      },
    });
    assert.equal(asked.renewals, 1, "a new session once per request");
    assert.deepEqual(
      servers.map((s) => s.seen.length),
      [1, 1],
    );
    assert.deepEqual(
      proxy.settled.map((s) => s.outcome),
      ["neutral", "neutral"],
    );
  });

  it("answers a 502 session_lost when no new session can be opened", async () => {
    const { servers, http } = await upstreams(sessionGone);
    const { asked, calls } = sessionCalls(() => undefined);
    const proxy = await startBareProxy(http, { calls });
    opened.push(() => proxy.close());

    const answer = await post(proxy.url);
    assert.equal(answer.status, 502);
    assert.equal(JSON.parse(answer.text).error.data.reason, "session_lost");
    assert.equal(asked.renewals, 1);
    assert.equal(servers[0]?.seen.length, 1);
  });

  it("answers the usual refusal when the new session's upstream does not admit the call", async () => {
    const { servers, http } = await upstreams(sessionGone, echo("second"));
    const [, second] = http as [HttpUpstream, HttpUpstream];
    second.circuit.forceOpen();
    const { calls } = sessionCalls((request) => ({ request: inNewSession(request), bound: second }));
    const proxy = await startBareProxy(http, { calls });
    opened.push(() => proxy.close());

    const answer = await post(proxy.url);
    assert.equal(answer.status, 404);
    const error = JSON.parse(answer.text).error;
    assert.equal(error.code, -32001);
    assert.equal(error.data.reason, "circuit_open");
    assert.equal(error.data.upstream, "u1");
    assert.equal(servers[1]?.seen.length, 0);
  });

  it("passes a 404 through unchanged on a call without sessionLost", async () => {
    const { servers, http } = await upstreams(sessionGone);
    const proxy = await startBareProxy(http);
    opened.push(() => proxy.close());

    const answer = await post(proxy.url);
    assert.equal(answer.status, 404);
    assert.equal(answer.text, '{"upstream":"forgot it"}');
    assert.equal(servers[0]?.seen.length, 1);
  });

  it("renews the session of a call an endpoint hands to a pool through PoolSend", async () => {
    const { http } = await upstreams(sessionGone, echo("second"));
    const [first, second] = http as [HttpUpstream, HttpUpstream];
    const pool = barePool({ name: "pool", route: "/pool", upstreams: http });
    const { asked, calls } = sessionCalls((request) => ({ request: inNewSession(request), bound: second }));
    const endpoint: Endpoint = {
      kind: "endpoint",
      route: "/aggregate",
      serve: (req: IncomingMessage, res: ServerResponse, remainder, body, send) => {
        const request = upstreamRequest(req, remainder, body, undefined, "http");
        return send(pool, req, res, request, calls.read(request), first, pool.rewrite);
      },
    };
    const proxy = await startBareProxy(http, { routes: new RouteTable([pool], [endpoint]) });
    opened.push(() => proxy.close());

    const answer = await post(`${proxy.url}/aggregate`);
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.text).upstream, "second");
    assert.equal(asked.renewals, 1);
  });
});
