import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/**
 * How a demo server behaves: answers; fails every request with 500; answers every request `200 OK`
 * with a JSON-RPC error (what a server whose backend died sends); never answers; refuses connections.
 */
export type DemoMode = "ok" | "fail" | "error" | "hang" | "down";
export const demoModes: readonly DemoMode[] = ["ok", "fail", "error", "hang", "down"];

/**
 * A small but real MCP server on Streamable HTTP (the official SDK) for the demo and the end-to-end
 * tests: stateful sessions for clients that initialize, and stateless answers to sessionless calls:
 * tools `echo`, `add`, `slow` (progress notifications over SSE), `whoami` and `lookup` (a database
 * query that can be broken on its own, to watch a tool circuit open). Its mode can be switched to make
 * the whole server fail, hang or go down on purpose.
 */
export class DemoMcpServer {
  readonly name: string;
  readonly #host: string;
  #port: number;
  #mode: DemoMode = "ok";
  /** The `lookup` tool fails (a tool execution error) while the rest of the server works. */
  #lookupBroken = false;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Map<string, StreamableHTTPServerTransport>();

  constructor(name: string, port = 0, host = "127.0.0.1") {
    this.name = name;
    this.#port = port;
    this.#host = host;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://${this.#host}:${this.#port}/mcp`;
  }

  get mode(): DemoMode {
    return this.#mode;
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

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off("error", reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Switches behaviour. Going `down` closes the listener and every connection; leaving it listens again. */
  async setMode(mode: DemoMode): Promise<void> {
    const previous = this.#mode;
    this.#mode = mode;
    if (mode !== "ok" || previous === "hang") this.#dropConnections();
    if (mode === "down" && previous !== "down") await this.#stopListening();
    if (mode !== "down" && previous === "down") await this.start();
  }

  async close(): Promise<void> {
    for (const transport of this.#sessions.values()) await transport.close();
    this.#sessions.clear();
    if (this.#mode !== "down") await this.#stopListening();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#mode === "hang") return; // never answer
    if (this.#mode === "fail") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: null,
          error: { code: -32603, message: `${this.name} is failing` },
        }),
      );
      return;
    }
    const body = req.method === "POST" ? await readJson(req) : undefined;
    if (this.#mode === "error") {
      const id = (body as { id?: unknown } | undefined)?.id ?? null;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id,
          error: { code: -32603, message: `${this.name}: backend database unreachable` },
        }),
      );
      return;
    }
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
    return demoMcpServer(this.name, () => this.#lookupBroken);
  }

  #dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #stopListening(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#dropConnections();
    });
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The demo's MCP server, whatever carries it (HTTP here, stdio in stdioServer.ts): tools `echo`, `add`,
 * `whoami`, `lookup` (failing while `lookupBroken()` says so) and `slow` (progress notifications).
 */
export function demoMcpServer(name: string, lookupBroken: () => boolean): McpServer {
  const server = new McpServer({ name: `breakwater-demo-${name}`, version: "1.0.0" });
  const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });
  server.registerTool(
    "echo",
    {
      description: "Echoes the text back, naming the server that answered",
      inputSchema: { text: z.string() },
    },
    async ({ text: value }) => text(`${value} (from ${name})`),
  );
  server.registerTool(
    "add",
    { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => text(String(a + b)),
  );
  server.registerTool("whoami", { description: "The name of the server that answered" }, async () =>
    text(name),
  );
  server.registerTool(
    "lookup",
    { description: "Looks a key up in the server's database", inputSchema: { key: z.string() } },
    async ({ key }) => {
      // a thrown error becomes a tool execution error: `isError: true` in a 200 answer
      if (lookupBroken()) throw new Error(`${name}: lookup failed: database connection refused`);
      return text(`${key} = ${key.length} (from ${name})`);
    },
  );
  server.registerTool(
    "slow",
    {
      description: "Works for a while, reporting progress over SSE",
      inputSchema: { steps: z.number().int().min(1).max(50), delayMs: z.number().int().min(0).max(10_000) },
    },
    async ({ steps, delayMs }, extra) => {
      const token = extra._meta?.progressToken;
      for (let step = 1; step <= steps; step++) {
        await sleep(delayMs);
        if (token !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: {
              progressToken: token,
              progress: step,
              total: steps,
              message: `step ${step} of ${steps}`,
            },
          });
        }
      }
      return text(`done ${steps} steps on ${name}`);
    },
  );
  return server;
}
