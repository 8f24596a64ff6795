import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

/** An SDK 1.x MCP server of the earlier era with sessions, that can be restarted on its port. */
export interface Sdk1SessionServer {
  readonly url: string;
  /** Sessions it holds now. */
  sessions(): number;
  /** Closes it and starts it again on the same port: every session it held is gone. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * An SDK 1.x server (2025-11-25 and before) with sessions: `initialize` opens one, other requests need
 * it (404 for one it does not know), `DELETE` ends it. Tool `whoami` answers the client's name and
 * capabilities as its session's `initialize` gave them.
 */
export async function startSdk1SessionServer(name: string): Promise<Sdk1SessionServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const app = createMcpExpressApp();
  app.all("/mcp", async (req, res) => {
    const id = req.headers["mcp-session-id"];
    let transport = typeof id === "string" ? transports.get(id) : undefined;
    if (transport === undefined && typeof id !== "string") {
      const server = new McpServer({ name, version: "1.0.0" });
      server.registerTool("whoami", { description: "Who the session's client is" }, async () => ({
        content: [
          {
            type: "text",
            text: JSON.stringify({
              server: name,
              client: server.server.getClientVersion()?.name,
              capabilities: server.server.getClientCapabilities(),
            }),
          },
        ],
      }));
      const made: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          transports.set(sid, made);
        },
        onsessionclosed: (sid) => {
          transports.delete(sid);
        },
      });
      await server.connect(made);
      transport = made;
    }
    if (transport === undefined) {
      res
        .status(404)
        .json({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } });
      return;
    }
    await transport.handleRequest(req, res, req.body);
  });
  let http: Server = await listen(0);
  const port = (http.address() as AddressInfo).port;
  async function listen(on: number): Promise<Server> {
    return new Promise((resolve) => {
      const s = app.listen(on, "127.0.0.1", () => resolve(s));
    });
  }
  async function stop(): Promise<void> {
    for (const t of transports.values()) await t.close();
    transports.clear();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sessions: () => transports.size,
    async restart() {
      await stop();
      http = await listen(port);
    },
    close: stop,
  };
}
