import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { startProxy, type TestProxy } from "../support/proxy.ts";

/**
 * An SDK 1.x MCP server as the SDK's docs build one: `createMcpExpressApp()` (express.json()), a
 * stateless transport per request, tools `read_notes` and `delete_notes`; `ran` records what it ran.
 */
export async function expressSdk1Server(): Promise<{ url: string; ran: string[]; close(): Promise<void> }> {
  const ran: string[] = [];
  const app = createMcpExpressApp();
  app.post("/mcp", async (req, res) => {
    const server = new McpServer({ name: "notes", version: "1.0.0" });
    for (const name of ["read_notes", "delete_notes"]) {
      server.registerTool(name, { inputSchema: { x: z.string().optional() } }, async () => {
        ran.push(name);
        return { content: [{ type: "text", text: name }] };
      });
    }
    // stateless: no session id generator
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
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
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    ran,
    close: async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/**
 * An SDK 1.x MCP server with sessions and an event store (resumable streams, SPEC-era 2025-11-25), tools
 * `read_notes` and `delete_notes`, answering event streams.
 */
export async function resumableSdk1Server(): Promise<{ url: string; close(): Promise<void> }> {
  const { randomUUID } = await import("node:crypto");
  const { InMemoryEventStore } = await import(
    "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js"
  );
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const app = createMcpExpressApp();
  app.all("/mcp", async (req, res) => {
    const id = req.headers["mcp-session-id"];
    let transport = typeof id === "string" ? transports.get(id) : undefined;
    if (transport === undefined) {
      const server = new McpServer({ name: "notes", version: "1.0.0" });
      for (const name of ["read_notes", "delete_notes"]) {
        server.registerTool(name, { inputSchema: { x: z.string().optional() } }, async () => ({
          content: [{ type: "text", text: name }],
        }));
      }
      const made = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new InMemoryEventStore(),
        onsessioninitialized: (sid) => {
          transports.set(sid, made);
        },
      });
      await server.connect(made);
      transport = made;
    }
    await transport.handleRequest(req, res, req.body);
  });
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A Breakwater with one server, notes on /notes/mcp (upstream notes-a at `url`), its tools filter leaving out delete_*. */
export function notesProxy(url: string): Promise<TestProxy> {
  return startProxy(`
[[servers]]
name = "notes"
route = "/notes/mcp"
tools = { exclude = ["delete_*"] }

[[servers.upstreams]]
name = "notes-a"
url = "${url}"
`);
}
