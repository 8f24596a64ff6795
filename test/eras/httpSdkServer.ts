import type { Client } from "@modelcontextprotocol/client";
import { createMcpHandler, type McpHttpHandler, McpServer } from "@modelcontextprotocol/server";
import type { Timers } from "../../src/time/Timers.ts";
import { FetchServer } from "../support/FetchServer.ts";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { connectSdk2Client, modernRevision } from "../support/sdk2.ts";

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
 * stateless), on a {@link FetchServer}.
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
  const http = new FetchServer((request) => handler.fetch(request), {
    onRequest(req, res) {
      const method = String(req.headers["mcp-method"] ?? req.method);
      seen.push(method);
      names.push(String(req.headers["mcp-name"] ?? ""));
      res.once("close", () => {
        if (!res.writableFinished) aborted.push(method);
      });
    },
  });
  await http.start();
  return {
    url: `http://127.0.0.1:${http.port}/mcp`,
    handler,
    aborted,
    seen,
    names,
    async close() {
      await handler.close();
      await http.close();
    },
  };
}

/** An SDK 2.x client speaking MCP 2026-07-28 (pinned) to `url`, connected. */
export const modernClient = (url: string): Promise<Client> => connectSdk2Client(url, { pin: modernRevision });

/** Breakwater at route /mcp in front of `upstream` (named "u"), its deadlines on `timers` when given. */
export function proxyFor(upstream: string, toml = "", timers?: Timers): Promise<TestProxy> {
  const config = `[server]\nroute = "/mcp"\n${toml}\n${upstreamsToml([{ name: "u", url: upstream }])}`;
  return startProxy(config, {}, timers === undefined ? {} : { timers });
}
