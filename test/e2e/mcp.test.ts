import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { startFleet, startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { echo } from "../support/upstream.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Real MCP servers (the official SDK, Streamable HTTP) behind Breakwater on route /mcp. */
async function mcpFleet(names: string[], toml = "") {
  const servers = names.map((name) => new DemoMcpServer(name));
  for (const server of servers) await server.start();
  const proxy = await startProxy(
    `[server]\nroute = "/mcp"\n${toml}\n${upstreamsToml(servers.map((s) => ({ name: s.name, url: s.url })))}`,
  );
  cleanups.push(async () => {
    await proxy.close();
    for (const server of servers) await server.close();
  });
  return { servers, proxy, byName: (name: string) => servers.find((s) => s.name === name) as DemoMcpServer };
}

/** An SDK client, connected (initialized) through the proxy. */
async function connect(proxy: TestProxy): Promise<Client> {
  const client = new Client({ name: "breakwater-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
  cleanups.push(() => client.close());
  return client;
}

async function whoami(client: Client): Promise<string> {
  const result = await client.callTool({ name: "whoami", arguments: {} });
  return (result.content as { text: string }[])[0]?.text ?? "";
}

describe("MCP end to end, with the official TypeScript SDK", () => {
  it("initializes, lists and calls tools, and streams progress over SSE, all through the proxy", async () => {
    const { proxy } = await mcpFleet(["alpha", "beta"]);
    const client = await connect(proxy);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ["add", "echo", "lookup", "slow", "whoami"]);
    const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
    assert.deepEqual(sum.content, [{ type: "text", text: "42" }]);
    const progress: number[] = [];
    const slow = await client.callTool({ name: "slow", arguments: { steps: 4, delayMs: 20 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    assert.deepEqual(progress, [1, 2, 3, 4]);
    assert.match((slow.content as { text: string }[])[0]?.text ?? "", /^done 4 steps on (alpha|beta)$/);
  });

  it("keeps every request of a session on the upstream that created it", async () => {
    const { proxy } = await mcpFleet(["alpha", "beta"]);
    const clients = [await connect(proxy), await connect(proxy), await connect(proxy), await connect(proxy)];
    const homes = await Promise.all(clients.map(whoami));
    assert.deepEqual(new Set(homes), new Set(["alpha", "beta"]), "round robin spread the sessions");
    for (let round = 0; round < 5; round++) {
      assert.deepEqual(await Promise.all(clients.map(whoami)), homes);
    }
  });

  it("when a session's upstream dies: its circuit opens, the session gets 404, a re-initialized client carries on elsewhere, and new clients never see an error", async () => {
    const { proxy, byName } = await mcpFleet(
      ["alpha", "beta"],
      "[proxy.circuit_breaker]\nfailure_threshold = 1",
    );
    const client = await connect(proxy);
    const home = await whoami(client);
    const other = home === "alpha" ? "beta" : "alpha";
    await byName(home).setMode("down");

    // new clients meanwhile: a connect failure on the dead upstream is retried on the healthy one
    for (let i = 0; i < 3; i++) assert.equal(await whoami(await connect(proxy)), other);
    const dead = proxy.breakwater.upstreams.find((u) => u.name === home);
    assert.equal(dead?.circuit.state, "open");

    await assert.rejects(
      whoami(client),
      /"code":-32001,"message":"Session not found","data":\{"reason":"circuit_open"/,
    );
    const again = await connect(proxy); // the client starts a new session, as the transport spec requires
    assert.equal(await whoami(again), other);
  });

  it("gives the client an error within request_timeout_ms when the upstream hangs, not a hang", async () => {
    const { proxy, servers } = await mcpFleet(["alpha"], "[proxy]\nrequest_timeout_ms = 300");
    const client = await connect(proxy);
    await servers[0]?.setMode("hang");
    const started = performance.now();
    await assert.rejects(
      client.callTool({ name: "whoami", arguments: {} }),
      /"message":"Upstream unavailable","data":\{"reason":"timeout","upstream":"alpha"\}/,
    );
    // the SDK's own request timeout is 60 s; the proxy's answer must come long before it
    assert.ok(performance.now() - started < 20_000);
  });

  it("balances sessionless requests (revision 2026-07-28) one by one, passing the MCP headers on", async () => {
    const { proxy, upstreams, close } = await startFleet({ a: echo("a"), b: echo("b") });
    cleanups.push(close);
    const answeredBy: string[] = [];
    for (let id = 1; id <= 4; id++) {
      const res = await request(proxy.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": "echo",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo" } }),
      });
      answeredBy.push(String(res.headers["x-upstream"]));
      await res.body.text();
    }
    assert.deepEqual(answeredBy, ["a", "b", "a", "b"]);
    const seen = upstreams["a"]?.seen.at(-1)?.headers;
    assert.deepEqual(
      [seen?.["mcp-protocol-version"], seen?.["mcp-method"], seen?.["mcp-name"]],
      ["2026-07-28", "tools/call", "echo"],
    );
  });

  it("opens a broken tool's circuit while the server's other tools go on working, in the same session", async () => {
    // isError results open a tool's circuit by their rate alone: over 2 calls here
    const { proxy, servers } = await mcpFleet(["alpha"], "[proxy.tool_circuit]\nminimum_requests = 2");
    const client = await connect(proxy);
    await client.listTools(); // as clients do: the proxy learns alpha's tools from the answer
    servers[0]?.breakLookup(true);
    for (let i = 0; i < 2; i++) {
      const failed = await client.callTool({ name: "lookup", arguments: { key: "k" } });
      assert.equal(failed.isError, true);
      assert.match((failed.content as { text: string }[])[0]?.text ?? "", /database connection refused/);
    }
    const refused = await client.callTool({ name: "lookup", arguments: { key: "k" } });
    assert.equal(refused.isError, true, "the model reads a tool error, not a transport failure");
    assert.match(
      (refused.content as { text: string }[])[0]?.text ?? "",
      /Tool "lookup" is temporarily unavailable/,
    );
    assert.deepEqual(
      (refused._meta as Record<string, { state: string; tool: string }>)["breakwater/circuit"],
      { upstream: "alpha", tool: "lookup", state: "open", retryAfterMs: 30_000 },
    );
    assert.equal(await whoami(client), "alpha", "the session and the other tools carry on");
    const sum = await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
    assert.deepEqual(sum.content, [{ type: "text", text: "3" }]);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "closed");
    assert.equal(proxy.breakwater.circuits.get("alpha", "lookup")?.breaker.state, "open");
  });

  it("checks a real MCP server with initialize and leaves no session behind; checks alone close its circuit", async () => {
    const { proxy, servers } = await mcpFleet(
      ["alpha"],
      '[proxy.health_check]\nkind = "mcp"\ninterval_secs = 0.05\n[proxy.circuit_breaker]\nsuccess_threshold = 2',
    );
    const metrics = async () =>
      (await request(`${proxy.adminUrl}/metrics`).then((r) => r.body.text())).match(
        /breakwater_health_checks_total\{upstream="alpha",result="healthy"\} (\d+)/,
      )?.[1];
    for (let i = 0; i < 500 && Number((await metrics()) ?? 0) < 3; i++) await sleep(20);
    assert.ok(Number(await metrics()) >= 3, "checks ran and were healthy");
    assert.equal(servers[0]?.sessionCount, 0, "every check's session was deleted");
    const circuit = proxy.breakwater.upstreams[0]?.circuit;
    circuit?.openFor(100);
    proxy.clock.advance(100);
    for (let i = 0; i < 500 && circuit?.state !== "closed"; i++) await sleep(20);
    assert.equal(circuit?.state, "closed");
  });
});
