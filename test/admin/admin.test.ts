import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { startFleet, startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { echo, type Handler, startUpstream, status, type TestUpstream } from "../support/upstream.ts";

const token = "s3cret-token";

describe("the admin listener", () => {
  let a: TestUpstream;
  let b: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    a = await startUpstream(echo("a"));
    b = await startUpstream(status(500));
    proxy = await startProxy(
      `[server]\nadmin_token = "${token}"\n[proxy.circuit_breaker]\nfailure_threshold = 2\n` +
        upstreamsToml([
          { name: "a", url: a.url },
          { name: "b", url: b.url },
        ]),
    );
  });
  after(async () => {
    await proxy.close();
    await a.close();
    await b.close();
  });

  const admin = async (path: string, init: { method?: "GET" | "POST"; token?: string } = {}) => {
    const res = await request(`${proxy.adminUrl}${path}`, {
      method: init.method ?? "GET",
      headers: init.token ? { authorization: `Bearer ${init.token}` } : {},
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  it("reports every circuit in /health, degraded when one is not closed", async () => {
    for (let i = 0; i < 4; i++) (await request(proxy.url)).body.resume();
    const circuitB = proxy.breakwater.circuits.get("b")?.breaker;
    await until(() => circuitB?.state === "open", "b's two failures open its circuit");
    const health = await admin("/health");
    assert.equal(health.status, 200);
    const body = health.json() as {
      status: string;
      circuit_breakers: Record<string, Record<string, unknown>>;
    };
    assert.equal(body.status, "degraded");
    assert.deepEqual(Object.keys(body.circuit_breakers), ["a", "b"]);
    assert.deepEqual(Object.keys(body.circuit_breakers["b"] ?? {}), [
      "state",
      "success_rate",
      "total_requests",
      "failed_requests",
      "consecutive_failures",
      "rejected_requests",
      "retry_after_ms",
      "tools",
    ]);
    assert.equal(body.circuit_breakers["b"]?.["state"], "open");
    assert.equal(typeof body.circuit_breakers["b"]?.["retry_after_ms"], "number");
  });

  it("is ready while at least one upstream admits, and not when none does", async () => {
    assert.equal((await admin("/ready")).status, 200);
    for (const name of ["a", "b"])
      assert.equal((await admin(`/circuits/${name}/open`, { method: "POST", token })).status, 200);
    assert.equal((await admin("/ready")).status, 503);
    assert.equal((await admin("/health")).json()["status"], "unhealthy");
    for (const name of ["a", "b"]) await admin(`/circuits/${name}/reset`, { method: "POST", token });
    assert.equal((await admin("/health")).json()["status"], "healthy");
  });

  it("serves Prometheus metrics with the names of the spec", async () => {
    const metrics = await admin("/metrics");
    assert.equal(metrics.status, 200);
    for (const line of [
      'breakwater_circuit_state{upstream="a",state="closed"} 1',
      'breakwater_circuit_state{upstream="a",state="open"} 0',
      'breakwater_circuit_transitions_total{upstream="b",from="closed",to="open"}',
      'breakwater_upstream_requests_total{upstream="a",outcome="success"}',
      'breakwater_upstream_requests_total{upstream="b",outcome="failure"} 2',
      'breakwater_upstream_requests_total{upstream="b",outcome="rejected"}',
      'breakwater_upstream_request_duration_seconds_bucket{le="0.005",upstream="a"}',
    ]) {
      assert.ok(metrics.text.includes(line), `missing: ${line}`);
    }
  });

  it("keeps circuit control behind the token: 401 without it or with a wrong one", async () => {
    assert.equal((await admin("/circuits")).status, 401);
    assert.equal((await admin("/circuits/a/open", { method: "POST", token: "wrong" })).status, 401);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "closed");
    assert.equal((await admin("/circuits", { token })).status, 200);
  });

  it("forces open, disables and resets a circuit by name", async () => {
    const opened = await admin("/circuits/a/open", { method: "POST", token });
    assert.deepEqual([opened.status, opened.json()["state"]], [200, "forced_open"]);
    const seenByA = a.seen.length;
    for (let i = 0; i < 2; i++) (await request(proxy.url)).body.resume();
    assert.equal(a.seen.length, seenByA, "a forced-open circuit lets nothing through");

    const disabled = await admin("/circuits/b/disable", { method: "POST", token });
    assert.deepEqual([disabled.status, disabled.json()["state"]], [200, "disabled"]);
    for (let i = 0; i < 3; i++) (await request(proxy.url)).body.resume();
    assert.equal(
      proxy.breakwater.upstreams[1]?.circuit.state,
      "disabled",
      "failures do not open a disabled circuit",
    );

    for (const name of ["a", "b"]) {
      const reset = await admin(`/circuits/${name}/reset`, { method: "POST", token });
      assert.deepEqual([reset.status, reset.json()["state"]], [200, "closed"]);
    }
    const control = proxy.logs().filter((l) => l["msg"] === "manual circuit control");
    assert.deepEqual(control.map((l) => [l["upstream"], l["action"]]).slice(-4), [
      ["a", "open"],
      ["b", "disable"],
      ["a", "reset"],
      ["b", "reset"],
    ]);
  });

  it("never writes the token or a client's credentials into the logs", async () => {
    await request(proxy.url, { headers: { authorization: "Bearer client-secret", cookie: "sid=abc" } }).then(
      (r) => r.body.text(),
    );
    const all = JSON.stringify(proxy.logs());
    for (const secret of [token, "client-secret", "sid=abc"]) assert.ok(!all.includes(secret), secret);
  });

  it("serves the dashboard and its state without the token, with a content security policy", async () => {
    const page = await request(`${proxy.adminUrl}/`);
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.match(String(page.headers["content-security-policy"]), /default-src 'self'/);
    assert.match(await page.body.text(), /<title>Breakwater — circuits<\/title>/);
    for (const asset of ["/dashboard.js", "/dashboard.css"]) assert.equal((await admin(asset)).status, 200);
    const state = (await admin("/dashboard/state")).json() as {
      control: string;
      upstreams: { name: string; in_flight: number; history: unknown[]; transitions: unknown[] }[];
    };
    assert.equal(state.control, "token");
    assert.deepEqual(
      state.upstreams.map((u) => u.name),
      ["a", "b"],
    );
    assert.equal(typeof state.upstreams[0]?.in_flight, "number");
  });

  it("answers 404 for an unknown circuit or path and 405 for a wrong method", async () => {
    assert.equal((await admin("/circuits/nope/reset", { method: "POST", token })).status, 404);
    assert.equal((await admin("/circuits/a/explode", { method: "POST", token })).status, 404);
    assert.equal((await admin("/circuits/a/reset", { token })).status, 405);
    assert.equal((await admin("/nothing")).status, 404);
  });
});

describe("tool circuits whose names are Object.prototype's own (SPEC §3.2)", () => {
  const names = ["__proto__", "constructor"];
  /** Lists the tools, and fails every call to them with -32603. */
  const tools: Handler = (_req, res, body) => {
    const { id, method } = JSON.parse(body) as { id: unknown; method: string };
    const answer =
      method === "tools/list"
        ? { result: { tools: names.map((name) => ({ name, inputSchema: { type: "object" } })) } }
        : { error: { code: -32603, message: "down" } };
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ jsonrpc: "2.0", id, ...answer }));
  };
  let fleet: Awaited<ReturnType<typeof startFleet>>;

  before(async () => {
    fleet = await startFleet({ u: tools }, "[proxy.tool_circuit]\nfailure_threshold = 1\n");
    const list = { jsonrpc: "2.0", id: 0, method: "tools/list" };
    await (await request(fleet.proxy.url, { method: "POST", body: JSON.stringify(list) })).body.text();
    for (const name of names) {
      const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } };
      await (await request(fleet.proxy.url, { method: "POST", body: JSON.stringify(call) })).body.text();
    }
  });
  after(() => fleet.close());

  it("lists a tool named __proto__ or constructor in /health and /circuits", async () => {
    for (const path of ["/health", "/circuits"]) {
      const text = await (await request(`${fleet.proxy.adminUrl}${path}`)).body.text();
      const tools = JSON.parse(text).circuit_breakers.u.tools as Record<string, { state: string }>;
      assert.deepEqual(Object.keys(tools), names, path);
      for (const name of names)
        assert.equal(Object.getOwnPropertyDescriptor(tools, name)?.value.state, "open");
    }
  });
});
