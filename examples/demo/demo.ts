/**
 * The demo (`npm start`): MCP servers of both eras of the protocol behind Breakwater, a few MCP clients
 * of each making steady traffic, and ways to break a server on purpose — so that a newcomer watches a
 * circuit open and close. Three servers of the earlier era (2025-11-25 and before: sessions) over HTTP
 * and one over stdio (run by Breakwater, a process per session) behind one proxy
 * (examples/breakwater.toml); three of the 2026-07-28 era (the SDK 2.x: no sessions), two over HTTP and
 * one over stdio (a pool of processes shared by every client), behind another (examples/breakwater-2026.toml), since a client pinned to 2026-07-28 needs a pool that speaks
 * it. Ctrl-C stops everything.
 *
 * Flags: --listen HOST:PORT (proxy), --admin-listen HOST:PORT, --listen-2026 and --admin-listen-2026
 * (the modern servers' proxy), --control-listen HOST:PORT (demo control), --upstream-port-base N (demo
 * servers on N, N+1, …, in config order, the earlier era's first; 0 lets the system choose).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { emitKeypressEvents } from "node:readline";
import { parseArgs } from "node:util";
import { Breakwater } from "../../src/app/Breakwater.ts";
import { createLogger } from "../../src/app/logger.ts";
import type { Config } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { parseListenAddress } from "../../src/http/listenAddress.ts";
import { type DemoMode, demoModes } from "./DemoListener.ts";
import { DemoMcpServer } from "./DemoMcpServer.ts";
import { DemoModernServer } from "./DemoModernServer.ts";
import { DemoModernTraffic } from "./DemoModernTraffic.ts";
import { DemoTraffic } from "./DemoTraffic.ts";

const { values: flags } = parseArgs({
  options: {
    listen: { type: "string" },
    "admin-listen": { type: "string" },
    "listen-2026": { type: "string" },
    "admin-listen-2026": { type: "string" },
    "control-listen": { type: "string", default: "127.0.0.1:9900" },
    "upstream-port-base": { type: "string" },
  },
});

const configOf = (file: string, listen: string | undefined, adminListen: string | undefined) =>
  loadConfig({ configPath: new URL(file, import.meta.url).pathname, listen, adminListen }).config;
const earlierConfig = configOf("../breakwater.toml", flags.listen, flags["admin-listen"]);
const modernConfig = configOf("../breakwater-2026.toml", flags["listen-2026"], flags["admin-listen-2026"]);

// the demo servers, on the ports of the configs (or from --upstream-port-base on)
const base = flags["upstream-port-base"] === undefined ? undefined : Number(flags["upstream-port-base"]);
const portOf = (url: URL | undefined, index: number) =>
  base === undefined ? Number(url?.port) : base === 0 ? 0 : base + index;
// (a stdio upstream of the config runs its own command: no demo server for it)
const earlierHttp = earlierConfig.upstreams.filter((u) => u.url !== undefined);
const earlierServers = earlierHttp.map((u, i) => new DemoMcpServer(u.name, portOf(u.url, i)));
const modernServers = modernConfig.upstreams
  .filter((u) => u.url !== undefined)
  .map((u, i) => new DemoModernServer(u.name, portOf(u.url, earlierHttp.length + i)));
type DemoServer = DemoMcpServer | DemoModernServer;
const servers: DemoServer[] = [...earlierServers, ...modernServers];
for (const server of servers) {
  await server.start().catch((error: NodeJS.ErrnoException) => {
    process.stderr.write(
      `demo: cannot start the ${server.name} server: ${error.message} (see --upstream-port-base)\n`,
    );
    process.exit(1);
  });
}
/** The config with its url upstreams pointed at the demo servers as they listen. */
const pointed = (config: Config): Config => ({
  ...config,
  upstreams: config.upstreams.map((u) => {
    const server = servers.find((s) => s.name === u.name);
    return server === undefined ? u : { ...u, url: new URL(server.url) };
  }),
});

const breakwaters: Breakwater[] = [];
async function startBreakwater(config: Config) {
  const breakwater = new Breakwater({ config: pointed(config), logger: createLogger() });
  breakwaters.push(breakwater);
  return breakwater.start().catch(async (error: NodeJS.ErrnoException & { port?: number }) => {
    process.stderr.write(
      `demo: cannot listen on port ${error.port}: ${error.code === "EADDRINUSE" ? "address already in use" : error.message}` +
        " (another Breakwater running? see --listen, --admin-listen, --listen-2026 and --admin-listen-2026)\n",
    );
    for (const started of breakwaters) await started.close(0).catch(() => {});
    for (const server of servers) await server.close();
    process.exit(1);
  });
}
const earlier = await startBreakwater(earlierConfig);
const modern = await startBreakwater(modernConfig);
const mcpUrl = `http://127.0.0.1:${earlier.proxy.port}${earlierConfig.route}`;
const modernMcpUrl = `http://127.0.0.1:${modern.proxy.port}${modernConfig.route}`;
const stdioNames = earlierConfig.upstreams
  .filter((u) => u.stdio !== undefined)
  .map((u) => u.name)
  .join(", ");
const adminUrl = `http://127.0.0.1:${earlier.admin.port}`;
const modernAdminUrl = `http://127.0.0.1:${modern.admin.port}`;
const control = await startControl(flags["control-listen"]);
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
const traffic = new DemoTraffic(mcpUrl);
traffic.start();
const modernTraffic = new DemoModernTraffic(modernMcpUrl);
modernTraffic.start();
const earlierNames = earlierServers.map((s) => s.name).join(", ");
const modernNames = modernServers.map((s) => s.name).join(", ");
const modernStdioNames = modernConfig.upstreams.filter((u) => u.stdio !== undefined).map((u) => u.name);
const [firstModern] = modernServers;

process.stdout.write(`
Breakwater demo — MCP servers ${earlierNames} (HTTP) and ${stdioNames} (stdio, a process per session) behind one proxy,
and ${modernNames} (HTTP) and ${modernStdioNames.join(", ")} (stdio, one pool of processes shared by all clients), of MCP 2026-07-28 (no sessions), behind another.

  MCP endpoint   ${mcpUrl}         (MCP 2025-11-25 and before; point any MCP client here: tools echo, add, slow, whoami, lookup)
  dashboard      ${adminUrl}/
  health         ${adminUrl}/health
  metrics        ${adminUrl}/metrics
  MCP 2026-07-28 ${modernMcpUrl}         (${[modernNames, ...modernStdioNames].join(", ")}: SDK 2.x servers, the same tools; earlier-era clients are served too)
  its dashboard  ${modernAdminUrl}/
  its health     ${modernAdminUrl}/health
  demo control   ${controlUrl}/

Demo clients call whoami and lookup every 300 ms: clients of the earlier era with sessions and without,
and SDK 2.x clients pinned to 2026-07-28. Break a server and watch its circuit open in the log below (and
on the dashboards); bring it back and watch the health checks (every 5 s) close it again — no client
request is used as a probe:

  curl -X POST ${controlUrl}/upstreams/beta/fail      # answer 500 to everything
  curl -X POST ${controlUrl}/upstreams/beta/error     # answer 200 OK with a JSON-RPC error (a dead backend)
  curl -X POST ${controlUrl}/upstreams/beta/hang      # never answer
  curl -X POST ${controlUrl}/upstreams/beta/down      # refuse connections
  curl -X POST ${controlUrl}/upstreams/beta/ok        # recover
  curl -X POST ${controlUrl}/upstreams/${firstModern?.name}/fail   # the same for a 2026-07-28 server

Break one tool and watch its own circuit open while the server's other tools go on working:

  curl -X POST ${controlUrl}/upstreams/alpha/tools/lookup/fail   # alpha's lookup fails (isError results)
  curl -X POST ${controlUrl}/upstreams/alpha/tools/lookup/ok     # mend it
${process.stdin.isTTY ? `\nOr press 1 to ${servers.length} to cycle a server (${servers.map((s, i) => `${i + 1} ${s.name}`).join(", ")}) through ok → fail → error → hang → down, t to break or mend alpha's lookup tool, y ${firstModern?.name}'s; q or Ctrl-C quits.\n` : ""}
`);

const report = setInterval(() => {
  const t = traffic.tally;
  const m = modernTraffic.tally;
  process.stdout.write(
    `-- callers so far: sessions ${t.ok} ok, ${t.reinitialized} moved after a 404, ${t.errors} errors; ` +
      `sessionless ${t.sessionlessOk} ok, ${t.sessionlessErrors} errors; ` +
      `lookup ${t.lookupOk} ok, ${t.lookupFailed} tool errors, ${t.lookupUnavailable} turned away by its circuit; ` +
      `2026-07-28 clients ${m.ok} ok, ${m.errors} errors, lookup ${m.lookupOk} ok, ${m.lookupFailed} tool errors, ${m.lookupUnavailable} turned away; ` +
      `servers: ${servers.map((s) => `${s.name}=${s.mode}${s.lookupBroken ? " (lookup broken)" : ""}`).join(" ")}
`,
  );
}, 5_000);

if (process.stdin.isTTY) {
  emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  process.stdin.on("keypress", (text: string | undefined, key: { ctrl?: boolean; name?: string }) => {
    if (key.name === "q" || (key.ctrl && key.name === "c")) void stop();
    const toolOwner = key.name === "t" ? earlierServers[0] : key.name === "y" ? firstModern : undefined;
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
  await Promise.all([traffic.stop(), modernTraffic.stop()]);
  for (const breakwater of breakwaters) await breakwater.close(2_000);
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
