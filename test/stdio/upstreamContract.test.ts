import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { CircuitBreaker } from "../../src/index.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { StdioUpstream } from "../../src/upstreams/stdio/StdioUpstream.ts";
import type { UpstreamRequest } from "../../src/upstreams/Upstream.ts";
import { ManualClock } from "../support/ManualClock.ts";
import { until } from "../support/until.ts";
import { RecordingSink, upstreamContract } from "../support/upstreamContract.ts";

// The shared suite of src/upstreams/Upstream.ts's ResponseSink contract, run against each implementation.

function upstreamRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string,
): UpstreamRequest {
  return {
    method,
    target,
    discovery: undefined,
    rawHeaders: Object.entries(headers).flat(),
    connection: undefined,
    host: "127.0.0.1",
    clientAddress: "127.0.0.1",
    proto: "http",
    body: body === undefined ? undefined : Buffer.from(body),
  };
}

const circuit = (name: string) =>
  new CircuitBreaker({ name, clock: new ManualClock(), failureThreshold: 100 });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function httpUpstream(url: string): HttpUpstream {
  const config = loadConfig({ upstreams: [url] }).config.upstreams[0];
  if (config === undefined) throw new Error("no upstream in the config");
  return new HttpUpstream(config, circuit(config.name), 5_000);
}

upstreamContract("HttpUpstream", {
  async working() {
    const server = createServer((req, res) => {
      if (req.url === "/standing") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: {}\n\n"); // and the stream stays open
        return;
      }
      req.resume();
      req.on("end", () => res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: {} })));
    });
    const url = await listen(server);
    return {
      upstream: httpUpstream(url),
      answered: async () => upstreamRequest("POST", "/", { "content-type": "application/json" }, "{}"),
      standing: async () => upstreamRequest("GET", "/standing", { accept: "text/event-stream" }),
      async close() {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
  async unreachable() {
    const server = createServer();
    const url = await listen(server);
    await new Promise((resolve) => server.close(resolve)); // nothing listens there now
    return { upstream: httpUpstream(url), request: upstreamRequest("GET", "/", {}) };
  },
});

const testServer = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
const mcpHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});

function stdioUpstream(command: [string, ...string[]]): StdioUpstream {
  return new StdioUpstream({
    name: "local",
    circuit: circuit("local"),
    config: { command, cwd: undefined, env: {}, maxProcesses: 8, idleTimeoutMs: 60_000 },
  });
}

upstreamContract("StdioUpstream", {
  async working() {
    const upstream = stdioUpstream([process.execPath, testServer]);
    return {
      upstream,
      answered: async () => upstreamRequest("POST", "/", mcpHeaders, initialize),
      async standing() {
        const opening = new RecordingSink();
        upstream.dispatch(upstreamRequest("POST", "/", mcpHeaders, initialize), opening);
        await until(() => opening.state === "over", "the session is open");
        return upstreamRequest("GET", "/", {
          accept: "text/event-stream",
          "mcp-session-id": String(opening.headers["mcp-session-id"]),
          "mcp-protocol-version": "2025-11-25",
        });
      },
      async close() {},
    };
  },
  async unreachable() {
    return {
      upstream: stdioUpstream(["/nonexistent/mcp-server"]),
      request: upstreamRequest("POST", "/", mcpHeaders, initialize),
    };
  },
});
