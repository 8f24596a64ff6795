import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { fetchList } from "../../src/aggregate/fetchList.ts";
import { ServerContact } from "../../src/aggregate/ServerContact.ts";
import { opened, poolRig } from "./poolClientRig.ts";

/** An SDK 1.x server without sessions (the SDK's stateless example: a server per request). */
async function startStatelessSdk1(): Promise<string> {
  const app = createMcpExpressApp();
  app.post("/mcp", async (req, res) => {
    const server = new McpServer({ name: "stateless", version: "1.0.0" });
    server.registerTool("echo", { description: "Echoes" }, async () => ({ content: [] }));
    const transport = new StreamableHTTPServerTransport({}); // no sessionIdGenerator: stateless
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  opened.push(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
}

describe("an earlier-era server without sessions (review of SPEC §7.2)", () => {
  it("is reached and its tools listed, though its initialize opens no session", async () => {
    const rig = poolRig([await startStatelessSdk1()]);
    const contact = new ServerContact(rig.pool, rig.client, () => {});
    const reached = await contact.contact(5_000);
    assert.ok("era" in reached, `not reached: ${JSON.stringify(reached)}`);
    const tools = await fetchList(contact, "tools");
    assert.equal(tools.kind, "list");
    assert.deepEqual(tools.kind === "list" ? tools.items.map((t) => t["name"]) : [], ["echo"]);
  });
});
