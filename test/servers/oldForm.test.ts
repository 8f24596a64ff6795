import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { startProxy, upstreamsToml } from "../support/proxy.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("the old form: top-level [[upstreams]] and server.route (SPEC §7.1)", () => {
  it("still serves on /mcp only, and /health shows one server named default holding its upstreams", async () => {
    const servers = [new DemoMcpServer("alpha"), new DemoMcpServer("beta")];
    for (const server of servers) await server.start();
    cleanups.push(async () => {
      for (const server of servers) await server.close();
    });
    const proxy = await startProxy(
      `[server]\nroute = "/mcp"\n${upstreamsToml(servers.map((s) => ({ name: s.name, url: s.url })))}`,
    );
    cleanups.push(() => proxy.close());

    const client = new Client({ name: "breakwater-old-form", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`)));
    cleanups.push(() => client.close());
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ["add", "echo", "lookup", "slow", "whoami"]);
    const who = await client.callTool({ name: "whoami", arguments: {} });
    assert.match((who.content as { text: string }[])[0]?.text ?? "", /^(alpha|beta)$/);

    const outside = await request(`${proxy.url}/other`, { method: "POST", body: "{}" });
    assert.equal(outside.statusCode, 404);
    assert.match(await outside.body.text(), /not found: this proxy serves \/mcp/);

    const health = (await (await request(`${proxy.adminUrl}/health`)).body.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(health), ["status", "circuit_breakers", "servers"]);
    assert.equal(health["status"], "healthy");
    assert.deepEqual(Object.keys(health["circuit_breakers"] as object), ["alpha", "beta"]);
    assert.deepEqual(health["servers"], { default: { status: "healthy", upstreams: ["alpha", "beta"] } });
  });
});
