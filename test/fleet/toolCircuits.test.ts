import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { RedisServer } from "../support/redisServer.ts";
import { until } from "../support/until.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";

/** An MCP server that lists the tool `query` and answers every call with a result. */
async function server(): Promise<TestUpstream> {
  return startUpstream((_req, res, body) => {
    const { id, method } = JSON.parse(body) as { id: unknown; method: string };
    const result = method === "tools/list" ? { tools: [{ name: "query" }] } : { content: [] };
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ jsonrpc: "2.0", id, result }));
  });
}

describe("tool circuits in a fleet (SPEC §3.2, §6.2)", () => {
  const redis = new RedisServer();
  let upstream: TestUpstream;
  let a: TestProxy;
  let b: TestProxy;

  before(async () => {
    await redis.start();
    upstream = await server();
    // shared circuits need the fleet's session keys: its messages are signed with them
    const keys = `session_keys = ["${"cd".repeat(32)}"]`;
    const toml = `[fleet]\nredis_url = "${redis.url.href}"\nname = "tools"\n${keys}\n${upstreamsToml([{ name: "u", url: upstream.url }])}`;
    a = await startProxy(toml);
    b = await startProxy(toml);
    await until(
      () => a.breakwater.fleet?.link.connected === true && b.breakwater.fleet?.link.connected === true,
    );
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await upstream?.close();
    await redis.stop();
  });

  it("makes no circuit on a replica for a tool it has not seen listed when another replica's decision names it", async () => {
    const list = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    await (await request(b.url, { method: "POST", body: list })).body.text(); // b has seen query listed
    for (const tool of ["made_up", "query"]) {
      const res = await request(`${a.adminUrl}/circuits/u/tools/${tool}/open`, { method: "POST" });
      assert.equal(res.statusCode, 200);
      await res.body.text();
    }
    // decisions reach b in the order they were made: once query's has, made_up's was applied or ignored
    await until(
      () => b.breakwater.circuits.get("u", "query")?.breaker.state === "forced_open",
      "b's query forced open",
    );
    assert.equal(
      a.breakwater.circuits.get("u", "made_up")?.breaker.state,
      "forced_open",
      "the operator's own replica",
    );
    assert.equal(b.breakwater.circuits.get("u", "made_up"), undefined);
  });
});
