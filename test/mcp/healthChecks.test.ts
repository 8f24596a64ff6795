import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { ManualTimers } from "../support/ManualTimers.ts";
import { rpc, startFleet } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import type { Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/**
 * An earlier-era MCP server: `server/discover` answered 400 (as SDK 1.x servers answer it), `initialize` with
 * `answer` and a session id, DELETE with 200, anything else a result.
 */
function mcpServer(answer: () => Record<string, unknown> | "hold"): {
  handler: Handler;
  release: () => void;
} {
  const held: (() => void)[] = [];
  const handler: Handler = (req, res, body) => {
    if (req.method === "DELETE") return void res.writeHead(200).end();
    const { id, method } = JSON.parse(body) as { id: unknown; method: string };
    if (method === "server/discover") {
      res.writeHead(400, { "content-type": "application/json" });
      return void res.end(
        JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Bad Request" } }),
      );
    }
    const reply = (payload: Record<string, unknown>): void => {
      res
        .writeHead(200, { "content-type": "application/json", "mcp-session-id": "s-1" })
        .end(JSON.stringify({ jsonrpc: "2.0", id, ...payload }));
    };
    const payload = method === "initialize" ? answer() : { result: {} };
    if (payload === "hold") held.push(() => reply({ result: { protocolVersion: "2025-11-25" } }));
    else reply(payload);
  };
  const release = () => {
    for (const send of held.splice(0)) send();
  };
  return { handler, release };
}

describe("active health checks (SPEC §3.3)", () => {
  it("checks a closed upstream on its interval; failing checks open it before a client meets it", async () => {
    const timers = new ManualTimers();
    const fleet = await startFleet(
      { u: (_req, res) => void res.writeHead(503).end() },
      '[proxy.health_check]\nkind = "http"\npath = "/healthz"\ninterval_secs = 10\n' +
        "[proxy.circuit_breaker]\nfailure_threshold = 2",
      {},
      { timers },
    );
    opened.push(fleet.close);
    const seen = fleet.upstreams["u"]?.seen ?? [];
    await timers.advance(9_999);
    assert.equal(seen.length, 0, "no check before the interval");
    await timers.advance(1);
    // the next check is planned when this one has answered (and is logged): 10 s after it
    const failed = () => fleet.proxy.logs().filter((line) => line["msg"] === "health check failed").length;
    await until(() => failed() === 1, "the first check answers");
    await timers.advance(10_000);
    await until(() => fleet.proxy.breakwater.upstreams[0]?.circuit.state === "open", "the circuit opens");
    await timers.advance(60_000);
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.url}`),
      ["GET /healthz", "GET /healthz"],
      "two failed checks, then none while open",
    );
    const logged = fleet.proxy.logs().filter((line) => line["msg"] === "health check failed");
    assert.equal(logged.length, 2);
    const metrics = await request(`${fleet.proxy.adminUrl}/metrics`).then((r) => r.body.text());
    assert.match(metrics, /breakwater_health_checks_total\{upstream="u",result="unhealthy"\} 2/);
  });

  it("does not count the circuit's refusals of its own checks as rejected client requests", async () => {
    const timers = new ManualTimers();
    const fleet = await startFleet(
      { u: (_req, res) => void res.writeHead(503).end() },
      '[proxy.health_check]\nkind = "http"\npath = "/healthz"\ninterval_secs = 10\n' +
        "[proxy.circuit_breaker]\nfailure_threshold = 1\ntimeout_duration_secs = 30",
      {},
      { timers },
    );
    opened.push(fleet.close);
    const circuit = fleet.proxy.breakwater.upstreams[0]?.circuit;
    await timers.advance(10_000);
    await until(() => circuit?.state === "open", "a failed check opens the circuit");
    // the breakers' clock stands still: when the checker's timer says the open time is up, the circuit
    // still says open, and refuses the check
    await timers.advance(30_000);
    assert.equal(circuit?.metrics().rejectedRequests, 1, "the circuit refused the check");
    const client = await request(fleet.proxy.url, { method: "POST", body: rpc(1) });
    assert.equal(client.statusCode, 503);
    await client.body.text();
    const metrics = await request(`${fleet.proxy.adminUrl}/metrics`).then((r) => r.body.text());
    const rejected = /breakwater_upstream_requests_total\{upstream="u",outcome="rejected"\} (\d+)/.exec(
      metrics,
    );
    assert.equal(rejected?.[1], "1", "the client's rejection only");
  });

  it("counts an initialize answered with a failing JSON-RPC error as a failed check", async () => {
    const server = mcpServer(() => ({ error: { code: -32603, message: "db down" } }));
    const timers = new ManualTimers();
    const fleet = await startFleet(
      { u: server.handler },
      '[proxy.health_check]\nkind = "mcp"\ninterval_secs = 10\n[proxy.circuit_breaker]\nfailure_threshold = 1',
      {},
      { timers },
    );
    opened.push(fleet.close);
    await timers.advance(10_000);
    await until(() => fleet.proxy.breakwater.upstreams[0]?.circuit.state === "open", "the circuit opens");
    const seen = fleet.upstreams["u"]?.seen ?? [];
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.headers["mcp-method"] ?? ""}`),
      ["POST server/discover", "POST initialize", "DELETE "],
    );
    assert.equal(seen[2]?.headers["mcp-session-id"], "s-1", "the check's session is ended");
  });

  it("once the open time is up, only checks probe: clients are rejected until a check closes it", async () => {
    const server = mcpServer(() => "hold");
    const timers = new ManualTimers();
    const fleet = await startFleet(
      { u: server.handler },
      '[proxy.health_check]\nkind = "mcp"\ninterval_secs = 3600\n[proxy.circuit_breaker]\nsuccess_threshold = 1',
      {},
      { timers },
    );
    opened.push(fleet.close);
    const { proxy, upstreams } = fleet;
    const circuit = proxy.breakwater.upstreams[0]?.circuit;
    const seen = upstreams["u"]?.seen ?? [];
    circuit?.openFor(200);
    proxy.clock.advance(200);
    assert.equal(circuit?.state, "half_open");
    await timers.advance(1); // the first check starts at once
    await until(() => seen.length === 2, "the first check reaches the upstream (discover, initialize)");
    const client = await request(proxy.url, { method: "POST", body: rpc(1) });
    assert.equal(client.statusCode, 503, "no client is used as a probe");
    assert.equal(
      ((await client.body.json()) as { error: { data: { reason: string } } }).error.data.reason,
      "circuit_open",
    );
    assert.equal(seen.length, 2, "the client's request never reached the upstream");
    server.release();
    await until(() => circuit?.state === "closed", "the check closes the circuit");
    const after = await request(proxy.url, { method: "POST", body: rpc(2) });
    assert.equal(after.statusCode, 200);
    await after.body.text();
    assert.deepEqual(
      seen.map((r) => r.method),
      ["POST", "POST", "DELETE", "POST"],
    );
  });
});
