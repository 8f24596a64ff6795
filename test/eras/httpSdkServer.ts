import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createMcpHandler, type McpHttpHandler, McpServer } from "@modelcontextprotocol/server";
import type { Timers } from "../../src/time/Timers.ts";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";

/** An SDK 2.x server (its `createMcpHandler`) over node's http, on a port of the system's choosing. */
export interface SdkServer {
  readonly url: string;
  readonly handler: McpHttpHandler;
  /** Requests whose client went away before their response ended (the request's signal was aborted). */
  readonly aborted: string[];
  /** The `Mcp-Method` (else the HTTP method) of every request that reached the server, in order. */
  readonly seen: string[];
  /** The `Mcp-Name` header of each request, in the same order ("" when absent). */
  readonly names: string[];
  close(): Promise<void>;
}

/**
 * Serves `define`'s tools with the SDK 2.x's own HTTP entry (both eras: modern at 2026-07-28, legacy
 * stateless): each node request becomes a web `Request` whose signal aborts when the client goes away.
 */
export async function startSdkServer(define: (server: McpServer) => void): Promise<SdkServer> {
  const handler = createMcpHandler(
    () => {
      const server = new McpServer(
        { name: "reference", version: "1.0.0" },
        { capabilities: { tools: { listChanged: true } } },
      );
      define(server);
      return server;
    },
    { keepAliveMs: 0 },
  );
  const aborted: string[] = [];
  const seen: string[] = [];
  const names: string[] = [];
  const http = createServer((req, res) => {
    seen.push(String(req.headers["mcp-method"] ?? req.method));
    names.push(String(req.headers["mcp-name"] ?? ""));
    void serve(handler, req, res, aborted);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    handler,
    aborted,
    seen,
    names,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function serve(handler: McpHttpHandler, req: IncomingMessage, res: ServerResponse, aborted: string[]) {
  const controller = new AbortController();
  const method = String(req.headers["mcp-method"] ?? req.method);
  res.once("close", () => {
    if (!res.writableFinished) {
      aborted.push(method);
      controller.abort();
    }
  });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === "string") headers.set(name, value);
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && chunks.length > 0;
  const request = new Request(`http://${req.headers.host}${req.url}`, {
    method: req.method as string,
    headers,
    signal: controller.signal,
    ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
  });
  try {
    const response = await handler.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.flushHeaders();
    if (response.body === null) res.end();
    else Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res);
  } catch {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  }
}

/** An SDK 2.x client speaking MCP 2026-07-28 (pinned) to `url`, connected. */
export async function modernClient(url: string): Promise<Client> {
  const client = new Client(
    { name: "era-test", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Breakwater at route /mcp in front of `upstream` (named "u"), its deadlines on `timers` when given. */
export function proxyFor(upstream: string, toml = "", timers?: Timers): Promise<TestProxy> {
  const config = `[server]\nroute = "/mcp"\n${toml}\n${upstreamsToml([{ name: "u", url: upstream }])}`;
  return startProxy(config, {}, timers === undefined ? {} : { timers });
}
