import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { startFleet } from "../support/proxy.ts";
import type { Handler } from "../support/upstream.ts";

/** Lists query and search; every tools/call fails with -32603, for every tool. */
const failingTools: Handler = (_req, res, body) => {
  const { id, method } = JSON.parse(body) as { id: unknown; method: string };
  const answer =
    method === "tools/list"
      ? { result: { tools: [{ name: "query" }, { name: "search" }] } }
      : { error: { code: -32603, message: "down" } };
  res
    .writeHead(200, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", id, ...answer }));
};

const toolCall = (id: number, tool: string) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: tool } });

describe("tool circuits at the admin listener (SPEC §3.2)", () => {
  let fleet: Awaited<ReturnType<typeof startFleet>>;

  before(async () => {
    fleet = await startFleet({ u: failingTools }, "[proxy.tool_circuit]\nfailure_threshold = 1\n");
    const list = JSON.stringify({ jsonrpc: "2.0", id: 0, method: "tools/list" });
    await (await request(fleet.proxy.url, { method: "POST", body: list })).body.text();
    for (const tool of ["query", "search"]) {
      const res = await request(fleet.proxy.url, { method: "POST", body: toolCall(1, tool) });
      await res.body.text();
    }
  });
  after(() => fleet.close());

  const admin = async (path: string, method: "GET" | "POST" = "GET") => {
    const res = await request(`${fleet.proxy.adminUrl}${path}`, { method });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it("lists tool circuits under their upstream in /health and /circuits, without changing the status", async () => {
    for (const path of ["/health", "/circuits"]) {
      const body = JSON.parse((await admin(path)).text);
      assert.equal(body.status, "healthy", "a broken tool is no sick server");
      const tools = body.circuit_breakers.u.tools;
      assert.deepEqual(Object.keys(tools), ["query", "search"]);
      assert.equal(tools.query.state, "open");
      assert.equal(tools.query.failed_requests, 1);
      assert.equal(typeof tools.query.retry_after_ms, "number");
    }
  });

  it("exports tool circuit states and tool request outcomes", async () => {
    const metrics = (await admin("/metrics")).text;
    assert.match(metrics, /breakwater_tool_circuit_state\{upstream="u",tool="query",state="open"\} 1/);
    assert.match(metrics, /breakwater_tool_requests_total\{upstream="u",tool="query",outcome="failure"\} 1/);
    assert.match(metrics, /breakwater_upstream_requests_total\{upstream="u",outcome="neutral"\} 2/);
  });

  it("logs each tool circuit's transitions with a tool field", () => {
    const opened = fleet.proxy.logs().filter((line) => line["msg"] === "circuit opened");
    assert.deepEqual(
      opened.map((line) => [line["upstream"], line["tool"], line["to"]]),
      [
        ["u", "query", "open"],
        ["u", "search", "open"],
      ],
    );
  });

  it("controls a tool's circuit, even one not called or listed yet, and shows it on the dashboard", async () => {
    const reset = await admin("/circuits/u/tools/query/reset", "POST");
    assert.equal(reset.status, 200);
    assert.deepEqual([JSON.parse(reset.text).tool, JSON.parse(reset.text).state], ["query", "closed"]);
    const opened = await admin("/circuits/u/tools/new_tool/open", "POST");
    assert.equal(JSON.parse(opened.text).state, "forced_open");
    const refused = await request(fleet.proxy.url, { method: "POST", body: toolCall(9, "new_tool") });
    const answer = (await refused.body.json()) as { result: { _meta: Record<string, { state: string }> } };
    assert.equal(answer.result._meta["breakwater/circuit"]?.state, "forced_open");
    const state = JSON.parse((await admin("/dashboard/state")).text);
    assert.deepEqual(
      state.upstreams[0].tools.map((t: { name: string; state: string }) => [t.name, t.state]),
      [
        ["search", "open"],
        ["new_tool", "forced_open"],
      ],
      "the dashboard lists the tools that are not closed",
    );
    assert.equal((await admin("/circuits/nope/tools/query/open", "POST")).status, 404);
    const invalid = await admin(`/circuits/u/tools/${encodeURIComponent("new tool")}/open`, "POST");
    assert.equal(invalid.status, 400, "no tool name (SEP-986): a space");
    assert.equal(fleet.proxy.breakwater.circuits.get("u", "new tool"), undefined);
    const long = await admin(`/circuits/u/tools/${"x".repeat(129)}/open`, "POST");
    assert.equal(long.status, 400, "no tool name (SEP-986): over 128 characters");
    const manual = fleet.proxy.logs().filter((line) => line["msg"] === "manual circuit control");
    assert.deepEqual(manual.at(0), { ...manual.at(0), upstream: "u", tool: "query", action: "reset" });
  });
});
