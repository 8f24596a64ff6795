import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import { serversToml, startProxy, type TestProxy } from "../support/proxy.ts";

const stdioServer = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));

/**
 * A server's `tools` filter seen by the official SDK 1.x client, on an HTTP server and a stdio one:
 * `notes` (the demo's HTTP server) lets only `echo` and the tools matching `who*` through; `files` (the
 * stdio test server) keeps all but `env` and the tools matching `b*`; `open` is the same HTTP server
 * without a filter.
 */
describe("a server's tools filter through the SDK client (SPEC §7.1)", () => {
  const demo = new DemoMcpServer("alpha");
  let proxy: TestProxy | undefined;
  const clients: Client[] = [];

  before(async () => {
    await demo.start();
    proxy = await startProxy(
      serversToml([
        {
          name: "notes",
          route: "/notes",
          extra: 'tools = { include = ["echo", "who*"] }\n',
          upstreams: [{ url: demo.url }],
        },
        {
          name: "files",
          route: "/files",
          extra: 'tools = { exclude = ["env", "b*"] }\n',
          upstreams: [{ command: [process.execPath, stdioServer] }],
        },
        { name: "open", route: "/open", upstreams: [{ name: "open-alpha", url: demo.url }] },
      ]),
    );
  });

  after(async () => {
    for (const client of clients) await client.close();
    await proxy?.close();
    await demo.close();
  });

  async function connect(route: string): Promise<Client> {
    const client = new Client({ name: "breakwater-filter-e2e", version: "1.0.0" });
    const url = proxy?.url ?? assert.fail("the proxy did not start");
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}${route}`)));
    clients.push(client);
    return client;
  }

  const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();

  /** The JSON-RPC error a call of an excluded tool gets: -32602, tool_not_allowed, naming the tool. */
  async function refused(client: Client, tool: string, args: Record<string, unknown>) {
    await assert.rejects(client.callTool({ name: tool, arguments: args }), (error: unknown) => {
      assert.ok(error instanceof McpError, String(error));
      assert.equal(error.code, -32602);
      assert.deepEqual(error.data, { reason: "tool_not_allowed", tool });
      return true;
    });
  }

  it("on an HTTP server: listTools holds only the included tools, a call of another is -32602, an included one works", async () => {
    const client = await connect("/notes");
    assert.deepEqual(await names(client), ["echo", "whoami"]);
    await refused(client, "lookup", { key: "k" });
    await refused(client, "add", { a: 1, b: 2 });
    const answer = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.deepEqual(answer.content, [{ type: "text", text: "hi (from alpha)" }]);
    const upstream = proxy?.breakwater.upstreams.find((u) => u.name === "notes-1");
    assert.equal(upstream?.circuit.state, "closed", "a refused call is no failure of the upstream");
  });

  it("on a stdio server: listTools lacks the excluded tools, a call of one is -32602, the others work", async () => {
    const client = await connect("/files");
    assert.deepEqual(await names(client), [
      "ask",
      "crash",
      "echo",
      "hold",
      "later",
      "mute",
      "pid",
      "progress",
    ]);
    await refused(client, "env", { name: "HOME" });
    await refused(client, "big", { mib: 1 });
    const answer = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.deepEqual(answer.content, [{ type: "text", text: "hi" }]);
  });

  it("leaves a server without a filter whole, on the same upstream", async () => {
    const client = await connect("/open");
    assert.deepEqual(await names(client), ["add", "echo", "lookup", "slow", "whoami"]);
    const answer = await client.callTool({ name: "lookup", arguments: { key: "k" } });
    assert.deepEqual(answer.content, [{ type: "text", text: "k = 1 (from alpha)" }]);
  });
});
