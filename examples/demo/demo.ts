/**
 * The demo (`npm start`): three different MCP servers behind one Breakwater, each on its own route and
 * all of them on one aggregate endpoint, /mcp, whose tool list follows what is healthy
 * (examples/breakwater.toml) — a gateway — with a few MCP clients of both eras of the protocol making
 * steady traffic, and ways to break a server on purpose, so that a newcomer watches a circuit open and
 * close. `notes` (/notes/mcp): two SDK 1.x HTTP servers (2025-11-25: sessions) and one over stdio (a
 * process per session); `math` (/math/mcp): two SDK 2.x HTTP servers (2026-07-28: no sessions) and one
 * over stdio (a pool of processes shared by every client); `clock` (/clock/mcp): one SDK 1.x server.
 * Ctrl-C stops everything.
 *
 * Flags: --listen HOST:PORT (proxy), --admin-listen HOST:PORT, --control-listen HOST:PORT (demo
 * control), --upstream-port-base N (demo servers on N, N+1, …, in config order; 0 lets the system
 * choose).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { emitKeypressEvents } from "node:readline";
import { parseArgs } from "node:util";
import { Breakwater } from "../../src/app/Breakwater.ts";
import { loadTelemetry } from "../../src/app/loadTelemetry.ts";
import { createLogger } from "../../src/app/logger.ts";
import type { Config, UpstreamConfig } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { parseListenAddress } from "../../src/http/listenAddress.ts";
import { DemoAggregateClient } from "./DemoAggregateClient.ts";
import { type DemoMode, demoModes } from "./DemoListener.ts";
import { DemoMcpServer } from "./DemoMcpServer.ts";
import { DemoModernServer } from "./DemoModernServer.ts";
import { DemoModernTraffic } from "./DemoModernTraffic.ts";
import { DemoTraffic } from "./DemoTraffic.ts";
import { isDemoKit } from "./demoTools.ts";

const { values: flags } = parseArgs({
  options: {
    listen: { type: "string" },
    "admin-listen": { type: "string" },
    "control-listen": { type: "string", default: "127.0.0.1:9900" },
    "upstream-port-base": { type: "string" },
  },
});

const config = loadConfig({
  configPath: new URL("../breakwater.toml", import.meta.url).pathname,
  listen: flags.listen,
  adminListen: flags["admin-listen"],
}).config;
/** The MCP server of the demo that speaks 2026-07-28 (SDK 2.x); the others speak the earlier era. */
const modernServer = "math";

// the demo servers, on the ports of the config (or from --upstream-port-base on); a stdio upstream of
// the config runs its own command: no demo server for it
const base = flags["upstream-port-base"] === undefined ? undefined : Number(flags["upstream-port-base"]);
const portOf = (url: URL | undefined, index: number) =>
  base === undefined ? Number(url?.port) : base === 0 ? 0 : base + index;
type DemoServer = DemoMcpServer | DemoModernServer;
const servers: DemoServer[] = config.servers.flatMap((server) =>
  server.upstreams
    .filter((u) => u.url !== undefined)
    .map((u) => {
      const kit = isDemoKit(server.name) ? server.name : "all";
      const port = portOf(u.url, config.upstreams.indexOf(u));
      return server.name === modernServer
        ? new DemoModernServer(u.name, port, "127.0.0.1", kit)
        : new DemoMcpServer(u.name, port, "127.0.0.1", kit);
    }),
);
for (const server of servers) {
  await server.start().catch((error: NodeJS.ErrnoException) => {
    process.stderr.write(
      `demo: cannot start the ${server.name} server: ${error.message} (see --upstream-port-base)\n`,
    );
    process.exit(1);
  });
}
/** An upstream of the config pointed at its demo server as it listens. */
const pointedUpstream = (u: UpstreamConfig): UpstreamConfig => {
  const server = servers.find((s) => s.name === u.name);
  return server === undefined ? u : { ...u, url: new URL(server.url) };
};
const pointed: Config = {
  ...config,
  upstreams: config.upstreams.map(pointedUpstream),
  servers: config.servers.map((s) => ({ ...s, upstreams: s.upstreams.map(pointedUpstream) })),
};

// OTEL_EXPORTER_OTLP_ENDPOINT (or [telemetry]) sends the demo's traces to a collector (README, Traces)
const telemetry = pointed.telemetry === undefined ? undefined : await loadTelemetry(pointed.telemetry);
const logger = createLogger(undefined, undefined, telemetry?.logFields);
const breakwater = new Breakwater({ config: pointed, logger, telemetry });
const listening = await breakwater.start().catch(async (error: NodeJS.ErrnoException & { port?: number }) => {
  process.stderr.write(
    `demo: cannot listen on port ${error.port}: ${error.code === "EADDRINUSE" ? "address already in use" : error.message}` +
      " (another Breakwater running? see --listen and --admin-listen)\n",
  );
  await breakwater.close(0).catch(() => {});
  for (const server of servers) await server.close();
  return process.exit(1);
});
const routeUrl = (name: string) =>
  `http://127.0.0.1:${listening.proxy.port}${config.servers.find((s) => s.name === name)?.route ?? "/"}`;
const [notesUrl, mathUrl, clockUrl] = [routeUrl("notes"), routeUrl("math"), routeUrl("clock")];
const aggregateUrl = `http://127.0.0.1:${listening.proxy.port}${config.aggregate?.route ?? "/mcp"}`;
const adminUrl = `http://127.0.0.1:${listening.admin.port}`;
const control = await startControl(flags["control-listen"]);
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
const traffic = new DemoTraffic(notesUrl);
traffic.start();
const clockTraffic = new DemoTraffic(clockUrl, 1, 1_000, false);
clockTraffic.start();
const modernTraffic = new DemoModernTraffic(mathUrl);
modernTraffic.start();
const separator = config.aggregate?.separator ?? "__";
const aggregateClient = new DemoAggregateClient(
  aggregateUrl,
  ["notes", "math", "clock"].map((server) => `${server}${separator}whoami`),
  (line) => process.stdout.write(`${line}\n`),
);
aggregateClient.start();
/** Each server's upstreams, "alpha, beta (HTTP), delta (stdio)". */
const members = (name: string) => {
  const server = config.servers.find((s) => s.name === name);
  return (server?.upstreams ?? [])
    .map((u) => `${u.name} (${u.stdio === undefined ? "HTTP" : "stdio"})`)
    .join(", ");
};
const [firstEarlier] = servers;
const firstModern = servers.find((s) => s instanceof DemoModernServer);

process.stdout.write(`
Breakwater demo — three different MCP servers behind one Breakwater, each on its own route, and all
of them on one endpoint whose tool list follows what is healthy:

  aggregate      ${aggregateUrl}          every server's tools: notes${separator}echo, math${separator}add, clock${separator}now, … (grace ${(config.aggregate?.graceMs ?? 0) / 1000} s)
  notes          ${notesUrl}   tools echo, lookup, whoami — ${members("notes")}; MCP 2025-11-25 (sessions)
  math           ${mathUrl}    tools add, slow, lookup, whoami — ${members("math")}; MCP 2026-07-28 (no sessions; earlier-era clients served too)
  clock          ${clockUrl}   tools now, whoami — ${members("clock")}
  dashboard      ${adminUrl}/
  health         ${adminUrl}/health
  metrics        ${adminUrl}/metrics
  demo control   ${controlUrl}/

Point any MCP client at a server's URL. Demo clients call whoami and lookup every 300 ms: clients of the
earlier era with sessions and without on notes (and clock), SDK 2.x clients pinned to 2026-07-28 on math.
Break a server and watch its circuit open in the log below (and on the dashboard) while the other
servers go on untouched; bring it back and watch the health checks (every 5 s) close it again — no
client request is used as a probe:

  curl -X POST ${controlUrl}/upstreams/beta/fail      # answer 500 to everything
  curl -X POST ${controlUrl}/upstreams/beta/error     # answer 200 OK with a JSON-RPC error (a dead backend)
  curl -X POST ${controlUrl}/upstreams/beta/hang      # never answer
  curl -X POST ${controlUrl}/upstreams/beta/down      # refuse connections
  curl -X POST ${controlUrl}/upstreams/beta/ok        # recover
  curl -X POST ${controlUrl}/upstreams/${firstModern?.name}/fail   # the same for a 2026-07-28 server

Break clock's only server and watch the aggregate: its tools stay listed for the grace time (calls to
them get a tool error the model can read), then leave the list with one tools/list_changed, and come
back with one more when its circuit closes — the other servers' tools never leave:

  curl -X POST ${controlUrl}/upstreams/gamma/down     # then, after a while: .../gamma/ok

Break one tool and watch its own circuit open while the server's other tools go on working:

  curl -X POST ${controlUrl}/upstreams/alpha/tools/lookup/fail   # alpha's lookup fails (isError results)
  curl -X POST ${controlUrl}/upstreams/alpha/tools/lookup/ok     # mend it
${process.stdin.isTTY ? `\nOr press 1 to ${servers.length} to cycle a server (${servers.map((s, i) => `${i + 1} ${s.name}`).join(", ")}) through ok → fail → error → hang → down, t to break or mend ${firstEarlier?.name}'s lookup tool, y ${firstModern?.name}'s; q or Ctrl-C quits.\n` : ""}
`);

const report = setInterval(() => {
  const t = traffic.tally;
  const m = modernTraffic.tally;
  const c = clockTraffic.tally;
  const a = aggregateClient.tally;
  process.stdout.write(
    `-- callers so far: sessions ${t.ok} ok, ${t.reinitialized} moved after a 404, ${t.errors} errors; ` +
      `sessionless ${t.sessionlessOk} ok, ${t.sessionlessErrors} errors; ` +
      `lookup ${t.lookupOk} ok, ${t.lookupFailed} tool errors, ${t.lookupUnavailable} turned away by its circuit; ` +
      `clock ${c.ok + c.sessionlessOk} ok, ${c.errors + c.sessionlessErrors} errors; ` +
      `2026-07-28 clients ${m.ok} ok, ${m.errors} errors, lookup ${m.lookupOk} ok, ${m.lookupFailed} tool errors, ${m.lookupUnavailable} turned away; ` +
      `aggregate ${a.ok} ok, ${a.unavailable} turned away, ${a.errors} errors, ${a.changes} list changes; ` +
      `servers: ${servers.map((s) => `${s.name}=${s.mode}${s.lookupBroken ? " (lookup broken)" : ""}`).join(" ")}
`,
  );
}, 5_000);

if (process.stdin.isTTY) {
  emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  process.stdin.on("keypress", (text: string | undefined, key: { ctrl?: boolean; name?: string }) => {
    if (key.name === "q" || (key.ctrl && key.name === "c")) void stop();
    const toolOwner = key.name === "t" ? firstEarlier : key.name === "y" ? firstModern : undefined;
    if (toolOwner !== undefined) {
      toolOwner.breakLookup(!toolOwner.lookupBroken);
      process.stdout.write(
        `-- ${toolOwner.name}'s lookup tool is now ${toolOwner.lookupBroken ? "broken" : "mended"}\n`,
      );
    }
    const server = servers[Number(text) - 1];
    if (server === undefined) return;
    const next = demoModes[(demoModes.indexOf(server.mode) + 1) % demoModes.length] as DemoMode;
    void server.setMode(next).then(() => process.stdout.write(`-- ${server.name} is now ${next}\n`));
  });
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write("-- stopping the demo\n");
  clearInterval(report);
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
  await Promise.all([traffic.stop(), clockTraffic.stop(), modernTraffic.stop(), aggregateClient.stop()]);
  await breakwater.close(2_000);
  await new Promise((resolve) => control.close(resolve));
  control.closeAllConnections();
  for (const server of servers) await server.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

/**
 * `POST /upstreams/<name>/<mode>` switches a demo server, `POST /upstreams/<name>/tools/lookup/fail|ok`
 * breaks or mends its lookup tool; `GET /` shows them all.
 */
async function startControl(listen: string): Promise<Server> {
  const address = parseListenAddress(listen);
  if (address === undefined) throw new Error(`--control-listen "${listen}": expected host:port`);
  const server = createServer((req, res) => {
    const tool = /^\/upstreams\/([^/]+)\/tools\/lookup\/(fail|ok)$/.exec(req.url ?? "");
    const owner = servers.find((s) => s.name === tool?.[1]);
    if (req.method === "POST" && tool !== null && owner !== undefined) {
      owner.breakLookup(tool[2] === "fail");
      process.stdout.write(
        `-- ${owner.name}'s lookup tool is now ${owner.lookupBroken ? "broken" : "mended"}\n`,
      );
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ [owner.name]: { lookup: tool[2] } }));
      return;
    }
    const match = /^\/upstreams\/([^/]+)\/([a-z]+)$/.exec(req.url ?? "");
    const target = servers.find((s) => s.name === match?.[1]);
    const mode = match?.[2] as DemoMode | undefined;
    if (req.method === "POST" && target !== undefined && mode !== undefined && demoModes.includes(mode)) {
      void target.setMode(mode).then(() => {
        process.stdout.write(`-- ${target.name} is now ${mode}\n`);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ [target.name]: mode }));
      });
      return;
    }
    if (req.method === "GET" && req.url === "/") {
      const modes = Object.fromEntries(
        servers.map((s) => [s.name, { mode: s.mode, lookup: s.lookupBroken ? "fail" : "ok" }]),
      );
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ servers: modes, modes: demoModes }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error:
          "POST /upstreams/<name>/<ok|fail|error|hang|down>, POST /upstreams/<name>/tools/lookup/<fail|ok>, or GET /",
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(address.port, address.host, resolve));
  return server;
}
