/**
 * What bridging a stdio MCP server costs (run by hand: `npm run bench:stdio`). Breakwater (its command,
 * in a process of its own) in front of the test stdio server (test/support/stdioServer.ts):
 * - the time from a client's `initialize` to its answer, process spawn included (20 sessions);
 * - the round trip of a `tools/call` (echo) through the bridge against the same server driven directly
 *   over stdio by the SDK's client, and against an MCP server over HTTP reached directly by the SDK's
 *   HTTP client (what HTTP and SSE cost on their own) — 1,000 calls each, one after another,
 *   interleaved in batches of 100;
 * - memory per live session: the proxy's RSS growth per session, and each child's own RSS;
 * - a 2026-07-28 server (test/support/modernStdioServer.ts, SDK 2.x `serveStdio`) served by the shared
 *   pool: a `tools/call` through the pool against the same server driven directly over stdio by the
 *   SDK 2.x client, and the proxy's RSS growth per concurrent client (each holding a
 *   `subscriptions/listen` stream and a call in flight) with the processes that served them.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdioTransport } from "@modelcontextprotocol/client/stdio";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { DemoMcpServer } from "../examples/demo/DemoMcpServer.ts";
import { freePort } from "../scripts/freePort.ts";
import { table } from "./harness.ts";

const SESSIONS = 20;
const CALLS = 1_000;
/** Concurrent 2026-07-28 clients of the shared pool. */
const MODERN_CLIENTS = 100;
const server = fileURLToPath(new URL("../test/support/stdioServer.ts", import.meta.url));
const modernServer = fileURLToPath(new URL("../test/support/modernStdioServer.ts", import.meta.url));
const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

const dir = mkdtempSync(join(tmpdir(), "breakwater-stdio-bench-"));
const config = join(dir, "breakwater.toml");
writeFileSync(
  config,
  `[server]\nlisten = "127.0.0.1:${await freePort()}"\nadmin_listen = "127.0.0.1:${await freePort()}"\n` +
    `[[upstreams]]\nname = "local"\ncommand = ${JSON.stringify([process.execPath, server])}\nmax_processes = ${SESSIONS + 2}\n`,
);
const proxy = spawn(process.execPath, [cli, "--config", config], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise<string>((resolve) => {
  createInterface({ input: proxy.stdout }).on("line", (line) => {
    const entry = JSON.parse(line) as Record<string, string>;
    if (entry["msg"] === "breakwater listening") resolve(entry["proxy"] as string);
  });
});

try {
  const rssBefore = rssMiB(proxy.pid as number);
  const initMs: number[] = [];
  const clients: Client[] = [];
  const childPids: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const client = new Client({ name: "bench", version: "1.0.0" });
    const t0 = performance.now();
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    initMs.push(performance.now() - t0);
    clients.push(client);
    const pid = await client.callTool({ name: "pid", arguments: {} });
    childPids.push(Number((pid.content as { text: string }[])[0]?.text));
  }
  const rssAfter = rssMiB(proxy.pid as number);
  const childRss = childPids.map(rssMiB);

  const direct = new Client({ name: "bench-direct", version: "1.0.0" });
  await direct.connect(new StdioClientTransport({ command: process.execPath, args: [server] }));
  const httpServer = new DemoMcpServer("http");
  await httpServer.start();
  const overHttp = new Client({ name: "bench-http", version: "1.0.0" });
  await overHttp.connect(new StreamableHTTPClientTransport(new URL(httpServer.url)));
  const bridged = clients[0] as Client;
  const call = (client: Client) => client.callTool({ name: "echo", arguments: { text: "ping" } });
  const each = { direct, bridged, overHttp };
  const names = Object.keys(each) as (keyof typeof each)[];
  for (let i = 0; i < 100; i++) await Promise.all(names.map((name) => call(each[name]))); // warm-up
  const times = { direct: [] as number[], bridged: [] as number[], overHttp: [] as number[] };
  for (let batch = 0; batch < CALLS / 100; batch++) {
    for (const name of batch % 2 === 0 ? names : [...names].reverse()) {
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        await call(each[name]);
        times[name].push(performance.now() - t0);
      }
    }
  }
  await direct.close();
  await overHttp.close();
  await httpServer.close();
  for (const client of clients) await client.close();

  console.log(`# stdio bridge — Node ${process.version}, ${SESSIONS} sessions, ${CALLS} calls each way\n`);
  console.log(
    table(
      ["measure", "p50", "p99"],
      [
        [
          "initialize through Breakwater, spawn included (ms)",
          percentile(initMs, 50),
          percentile(initMs, 99),
        ],
        ["tools/call through the bridge (ms)", percentile(times.bridged, 50), percentile(times.bridged, 99)],
        [
          "tools/call over stdio directly, SDK client (ms)",
          percentile(times.direct, 50),
          percentile(times.direct, 99),
        ],
        [
          "tools/call to an HTTP MCP server directly, SDK client (ms)",
          percentile(times.overHttp, 50),
          percentile(times.overHttp, 99),
        ],
      ],
    ),
  );
  console.log(
    `\nmemory per live session: proxy RSS +${((rssAfter - rssBefore) / SESSIONS).toFixed(2)} MiB ` +
      `(${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MiB for ${SESSIONS}), ` +
      `each child ${percentile(childRss, 50).toFixed(1)} MiB RSS (median)`,
  );
} finally {
  proxy.kill("SIGTERM");
}

await modernRows();

/** An SDK 2.x client pinned to 2026-07-28 over `transport`. */
async function modernClient(transport: ModernHttpTransport | ModernStdioTransport): Promise<ModernClient> {
  const client = new ModernClient(
    { name: "bench-modern", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } } },
  );
  await client.connect(transport);
  return client;
}

/** The 2026-07-28 rows: a call through the shared pool and directly, and memory per concurrent client. */
async function modernRows(): Promise<void> {
  const modernConfig = join(dir, "modern.toml");
  const admin = await freePort();
  writeFileSync(
    modernConfig,
    `[server]\nlisten = "127.0.0.1:${await freePort()}"\nadmin_listen = "127.0.0.1:${admin}"\n` +
      `[[upstreams]]\nname = "modern"\ncommand = ${JSON.stringify([process.execPath, modernServer])}\n`,
  );
  const modernProxy = spawn(process.execPath, [cli, "--config", modernConfig], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const modernUrl = await new Promise<string>((resolve) => {
    createInterface({ input: modernProxy.stdout }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, string>;
      if (entry["msg"] === "breakwater listening") resolve(entry["proxy"] as string);
    });
  });
  try {
    const pooled = await modernClient(new ModernHttpTransport(new URL(modernUrl)));
    const direct = await modernClient(
      new ModernStdioTransport({ command: process.execPath, args: [modernServer] }),
    );
    const each = { pooled, direct };
    const names = Object.keys(each) as (keyof typeof each)[];
    const call = (client: ModernClient) => client.callTool({ name: "echo", arguments: { text: "ping" } });
    for (let i = 0; i < 100; i++) await Promise.all(names.map((name) => call(each[name]))); // warm-up
    const times = { pooled: [] as number[], direct: [] as number[] };
    for (let batch = 0; batch < CALLS / 100; batch++) {
      for (const name of batch % 2 === 0 ? names : [...names].reverse()) {
        for (let i = 0; i < 100; i++) {
          const t0 = performance.now();
          await call(each[name]);
          times[name].push(performance.now() - t0);
        }
      }
    }
    await direct.close();

    const rssBefore = rssMiB(modernProxy.pid as number);
    const clients = await Promise.all(
      Array.from({ length: MODERN_CLIENTS }, () => modernClient(new ModernHttpTransport(new URL(modernUrl)))),
    );
    const listens = await Promise.all(clients.map((client) => client.listen({ toolsListChanged: true })));
    await Promise.all(clients.map((client) => call(client)));
    const rssAfter = rssMiB(modernProxy.pid as number);
    const health = (await (await fetch(`http://127.0.0.1:${admin}/health`)).json()) as {
      processes?: Record<string, { live: number }>;
    };
    for (const listen of listens) await listen.close();
    for (const client of [pooled, ...clients]) await client.close();

    console.log(`\n# 2026-07-28 stdio server, shared pool — ${CALLS} calls each way\n`);
    console.log(
      table(
        ["measure", "p50", "p99"],
        [
          [
            "tools/call through the shared pool (ms)",
            percentile(times.pooled, 50),
            percentile(times.pooled, 99),
          ],
          [
            "tools/call over stdio directly, SDK 2.x client (ms)",
            percentile(times.direct, 50),
            percentile(times.direct, 99),
          ],
        ],
      ),
    );
    console.log(
      `\nmemory per concurrent client (a listen stream standing, a call made): proxy RSS ` +
        `+${(((rssAfter - rssBefore) * 1024) / MODERN_CLIENTS).toFixed(1)} KiB ` +
        `(${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MiB for ${MODERN_CLIENTS}), ` +
        `served by ${health.processes?.["modern"]?.live ?? "?"} process(es)`,
    );
  } finally {
    modernProxy.kill("SIGTERM");
  }
}
