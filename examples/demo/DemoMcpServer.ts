import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { DemoListener, type DemoMode, parseJson } from "./DemoListener.ts";
import { type DemoKit, demoTools, textResult } from "./demoTools.ts";

export { type DemoMode, demoModes } from "./DemoListener.ts";

/**
 * A small but real MCP server of the earlier era (the official SDK 1.x, Streamable HTTP, 2025-11-25 and
 * before) for the demo and the end-to-end tests: stateful sessions for clients that initialize, and
 * stateless answers to sessionless calls: tools `echo`, `add`, `slow` (progress notifications over
 * SSE), `whoami` and `lookup` (a database query that can be broken on its own, to watch a tool circuit
 * open). Its mode can be switched to make the whole server fail, hang or go down on purpose.
 */
export class DemoMcpServer {
  readonly name: string;
  readonly #kit: DemoKit;
  readonly #listener: DemoListener;
  /** The `lookup` tool fails (a tool execution error) while the rest of the server works. */
  #lookupBroken = false;
  readonly #sessions = new Map<string, StreamableHTTPServerTransport>();

  constructor(name: string, port = 0, host = "127.0.0.1", kit: DemoKit = "all") {
    this.name = name;
    this.#kit = kit;
    this.#listener = new DemoListener(name, (req, res, body) => this.#serve(req, res, body), port, host);
  }

  get url(): string {
    return this.#listener.url;
  }

  get mode(): DemoMode {
    return this.#listener.mode;
  }

  /** Sessions open on this server (health checks must leave none behind). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  get lookupBroken(): boolean {
    return this.#lookupBroken;
  }

  /** Breaks (or mends) the `lookup` tool alone. */
  breakLookup(broken: boolean): void {
    this.#lookupBroken = broken;
  }

  start(): Promise<void> {
    return this.#listener.start();
  }

  /** Switches behaviour. Going `down` closes the listener and every connection; leaving it listens again. */
  setMode(mode: DemoMode): Promise<void> {
    return this.#listener.setMode(mode);
  }

  async close(): Promise<void> {
    for (const transport of this.#sessions.values()) await transport.close();
    this.#sessions.clear();
    await this.#listener.close();
  }

  async #serve(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const body = req.method === "POST" ? parseJson(raw) : undefined;
    const sessionId = req.headers["mcp-session-id"];
    const existing = typeof sessionId === "string" ? this.#sessions.get(sessionId) : undefined;
    if (existing !== undefined) {
      await existing.handleRequest(req, res, body);
      return;
    }
    if (typeof sessionId === "string") {
      // the transport spec's answer for a session this server does not know: the client starts anew
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }),
      );
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    if (!isInitializeRequest(body)) {
      // sessionless use: a stateless transport and server for this one request (the SDK's stateless pattern)
      const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true }); // no session ids: stateless;
      const server = this.#mcpServer();
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.#sessions.delete(transport.sessionId);
    };
    await this.#mcpServer().connect(transport);
    await transport.handleRequest(req, res, body);
  }

  #mcpServer(): McpServer {
    return demoMcpServer(this.name, () => this.#lookupBroken, this.#kit);
  }
}

/**
 * The demo's MCP server of the earlier era, whatever carries it (HTTP here, stdio in stdioServer.ts),
 * with the demo's tools (demoTools.ts).
 */
export function demoMcpServer(name: string, lookupBroken: () => boolean, kit: DemoKit = "all"): McpServer {
  const server = new McpServer({ name: `breakwater-demo-${name}`, version: "1.0.0" });
  for (const tool of demoTools(name, lookupBroken, kit)) {
    const { description } = tool;
    server.registerTool(
      tool.name,
      { description, inputSchema: tool.inputSchema.shape },
      async (args, extra) => {
        const token = extra._meta?.progressToken;
        const progress = async (progress: number, total: number, message: string) => {
          if (token === undefined) return;
          const params = { progressToken: token, progress, total, message };
          await extra.sendNotification({ method: "notifications/progress", params });
        };
        return textResult(await tool.run(args, progress));
      },
    );
  }
  return server;
}
