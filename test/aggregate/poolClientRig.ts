/**
 * Pools as the data plane builds them (McpCalls over real upstreams, tool catalogues, the plane's
 * circuits) and a PoolRequests over them, for the tests of Breakwater's own requests to its pools.
 */
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { PoolRequests } from "../../src/aggregate/PoolClient.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import type { UpstreamConfig } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import type { SettledReport } from "../../src/exchange/Settlement.ts";
import type { CircuitBreaker } from "../../src/index.ts";
import type { ToolCatalog } from "../../src/mcp/ToolCatalog.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import type { Timers } from "../../src/time/Timers.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { StdioUpstream } from "../../src/upstreams/stdio/StdioUpstream.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { mcpReading } from "../support/mcpReading.ts";
import { startSdk2Server } from "../support/sdk2.ts";
import { startUpstream } from "../support/upstream.ts";

export const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** The 2026-07-28 test server over stdio (SDK 2.x `serveStdio`). */
export const modernStdioServer = fileURLToPath(new URL("../support/modernStdioServer.ts", import.meta.url));

export interface PoolRig {
  readonly pool: ServerPool;
  readonly upstreams: readonly Upstream[];
  /** Each upstream's tool catalogue, by upstream name. */
  readonly catalogs: ReadonlyMap<string, ToolCatalog>;
  readonly client: PoolRequests;
  /** Every outcome the client's exchanges reported, in order. */
  readonly settled: SettledReport[];
  circuit(name: string): CircuitBreaker;
}

/**
 * One pool over upstreams at `urls` (HTTP; `make` builds others), judged as the plane judges MCP
 * (failure_threshold 1: one failure opens a circuit), and a PoolRequests on `timers` reporting to its
 * own observer.
 */
export function poolRig(
  urls: readonly string[],
  options: {
    readonly timers?: Timers;
    readonly make?: (u: UpstreamConfig, circuit: CircuitBreaker) => Upstream;
    readonly maxMessageBytes?: number;
    readonly onOverloaded?: (upstream: Upstream) => void;
    readonly loadBalancing?: "round_robin" | "failover";
    /** How its upstreams are closed after the file; default `close()` each. */
    readonly close?: (upstreams: readonly Upstream[]) => Promise<unknown>;
  } = {},
): PoolRig {
  const make = options.make ?? ((u, circuit) => new HttpUpstream(u, circuit, 5_000));
  const { config } = loadConfig({ upstreams: [...urls] });
  const circuits = new CircuitRegistry();
  const upstreams = config.upstreams.map((u) =>
    make(u, circuits.create(u.name, { ...u.breaker, failureThreshold: 1 }).breaker),
  );
  opened.push(() => (options.close ?? closeAll)(upstreams));
  const { calls, catalogs } = mcpReading(config.upstreams, upstreams, circuits, config.isFailureCode);
  const pool = barePool({
    name: "pool",
    route: "/pool",
    upstreams,
    calls,
    ...(options.loadBalancing === undefined ? {} : { loadBalancing: options.loadBalancing }),
  });
  const settled: SettledReport[] = [];
  const client = new PoolRequests({
    observer: { head() {}, settled: (report) => settled.push(report) },
    timers: options.timers,
    maxMessageBytes: options.maxMessageBytes,
    onOverloaded: options.onOverloaded,
  });
  return {
    pool,
    upstreams,
    catalogs,
    client,
    settled,
    circuit: (name) => {
      const breaker = circuits.get(name)?.breaker;
      if (breaker === undefined) throw new Error(`no circuit ${name}`);
      return breaker;
    },
  };
}

const closeAll = (upstreams: readonly Upstream[]) => Promise.all(upstreams.map((u) => u.close()));

/** A pool of one modern stdio upstream (the SDK 2.x test server), its processes on manual time. */
export function modernStdioRig(): PoolRig {
  const timers = new ManualTimers();
  const rig = poolRig(["http://127.0.0.1:9/stdio"], {
    make: (u, circuit) =>
      new StdioUpstream({
        name: u.name,
        circuit,
        config: {
          command: [process.execPath, modernStdioServer],
          cwd: undefined,
          env: {},
          maxProcesses: 2,
          idleTimeoutMs: 60_000,
        },
        timers,
      }),
    // its processes end within their grace, stepped on manual time
    close: async (upstreams) => {
      const closing = closeAll(upstreams);
      for (let i = 0; i < 3; i++) await timers.advance(10_000);
      await closing;
    },
  });
  return rig;
}

/** The `_meta` envelope and headers of a 2026-07-28 request. */
export const envelope = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "breakwater-test", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

export function modernRequest(id: string | number, method: string, params: Record<string, unknown> = {}) {
  return { jsonrpc: "2.0", id, method, params: { ...params, _meta: envelope } };
}

export function modernHeaders(method: string): Record<string, string> {
  return { "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method };
}

/** An SDK 2.x server for these tests, closed after the file. */
export async function sdk2(name: string) {
  const server = await startSdk2Server(name);
  opened.push(() => server.close());
  return server;
}

/** A test upstream answering with `handler`, closed after the file. */
export async function upstream(handler: Parameters<typeof startUpstream>[0]) {
  const server = await startUpstream(handler);
  opened.push(() => server.close());
  return server;
}

export const toolsList = modernRequest("list:1", "tools/list");
