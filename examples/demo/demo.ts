/**
 * The demo (`npm start`): three small MCP servers over HTTP and one over stdio (run by Breakwater, a
 * process per session), Breakwater in front of them, a few MCP clients
 * making steady traffic, and ways to break a server on purpose — so that a newcomer watches a circuit
 * open and close. Ctrl-C stops everything.
 *
 * Flags: --listen HOST:PORT (proxy), --admin-listen HOST:PORT, --control-listen HOST:PORT (demo
 * control), --upstream-port-base N (demo servers on N, N+1, N+2; 0 lets the system choose).
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
import { DemoMcpServer, type DemoMode, demoModes } from "./DemoMcpServer.ts";
import { DemoTraffic } from "./DemoTraffic.ts";

const { values: flags } = parseArgs({
  options: {
    listen: { type: "string" },
    "admin-listen": { type: "string" },
    "control-listen": { type: "string", default: "127.0.0.1:9900" },
    "upstream-port-base": { type: "string" },
  },
});

const { config: fileConfig } = loadConfig({
  configPath: new URL("../breakwater.toml", import.meta.url).pathname,
  listen: flags.listen,
  adminListen: flags["admin-listen"],
});

// the demo servers, on the ports of the config (or from --upstream-port-base on)
const base = flags["upstream-port-base"] === undefined ? undefined : Number(flags["upstream-port-base"]);
// (a stdio upstream of the config runs its own command: no demo server for it)
const httpUpstreams = fileConfig.upstreams.filter((u) => u.url !== undefined);
const servers = httpUpstreams.map(
  (u, i) => new DemoMcpServer(u.name, base === undefined ? Number(u.url?.port) : base === 0 ? 0 : base + i),
);
for (const server of servers) {
  await server.start().catch((error: NodeJS.ErrnoException) => {
    process.stderr.write(
      `demo: cannot start the ${server.name} server: ${error.message} (see --upstream-port-base)\n`,
    );
    process.exit(1);
  });
}
const config: Config = {
  ...fileConfig,
  upstreams: fileConfig.upstreams.map((u) => {
    const server = servers.find((s) => s.name === u.name);
    return server === undefined ? u : { ...u, url: new URL(server.url) };
  }),
};

const breakwater = new Breakwater({ config, logger: createLogger() });
const { proxy, admin } = await breakwater
  .start()
  .catch(async (error: NodeJS.ErrnoException & { port?: number }) => {
    process.stderr.write(
      `demo: cannot listen on port ${error.port}: ${error.code === "EADDRINUSE" ? "address already in use" : error.message}` +
        " (another Breakwater running? see --listen and --admin-listen)\n",
    );
    for (const server of servers) await server.close();
    process.exit(1);
  });
const mcpUrl = `http://127.0.0.1:${proxy.port}${config.route}`;
const stdioNames = config.upstreams
  .filter((u) => u.stdio !== undefined)
  .map((u) => u.name)
  .join(", ");
const adminUrl = `http://127.0.0.1:${admin.port}`;
const control = await startControl(flags["control-listen"]);
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
const traffic = new DemoTraffic(mcpUrl);
traffic.start();

process.stdout.write(`
Breakwater demo — MCP servers ${servers.map((s) => s.name).join(", ")} (HTTP) and ${stdioNames} (stdio, a process per session) behind one proxy.

  MCP endpoint   ${mcpUrl}         (point any MCP client here: tools echo, add, slow, whoami, lookup)
  dashboard      ${adminUrl}/
  health         ${adminUrl}/health
  metrics        ${adminUrl}/metrics
  demo control   ${controlUrl}/

Demo clients call whoami and lookup every 300 ms, with sessions and without. Break a server and watch its
circuit open in the log below (and on the dashboard); bring it back and watch the health checks (an MCP
initialize every 5 s) close it again — no client request is used as a probe:

  curl -X POST ${controlUrl}/upstreams/beta/fail      # answer 500 to everything
  curl -X POST ${controlUrl}/upstreams/beta/error     # answer 200 OK with a JSON-RPC error (a dead backend)
  curl -X POST ${controlUrl}/upstreams/beta/hang      # never answer
  curl -X POST ${controlUrl}/upstreams/beta/down      # refuse connections
  curl -X POST ${controlUrl}/upstreams/beta/ok        # recover

Break one tool and watch its own circuit open while the server's other tools go on working:

  curl -X POST ${controlUrl}/upstreams/alpha/tools/lookup/fail   # alpha's lookup fails (isError results)
  curl -X POST ${controlUrl}/upstreams/alpha/tools/lookup/ok     # mend it
${process.stdin.isTTY ? "\nOr press 1, 2, 3 to cycle a server through ok → fail → error → hang → down, t to break or mend alpha's lookup tool; q or Ctrl-C quits.\n" : ""}
`);

const report = setInterval(() => {
  const t = traffic.tally;
  process.stdout.write(
    `-- callers so far: sessions ${t.ok} ok, ${t.reinitialized} moved after a 404, ${t.errors} errors; ` +
      `sessionless ${t.sessionlessOk} ok, ${t.sessionlessErrors} errors; ` +
      `lookup ${t.lookupOk} ok, ${t.lookupFailed} tool errors, ${t.lookupUnavailable} turned away by its circuit; ` +
      `servers: ${servers.map((s) => `${s.name}=${s.mode}${s.lookupBroken ? " (lookup broken)" : ""}`).join(" ")}
`,
  );
}, 5_000);

if (process.stdin.isTTY) {
  emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  process.stdin.on("keypress", (text: string | undefined, key: { ctrl?: boolean; name?: string }) => {
    if (key.name === "q" || (key.ctrl && key.name === "c")) void stop();
    if (key.name === "t" && servers[0] !== undefined) {
      const alpha = servers[0];
      alpha.breakLookup(!alpha.lookupBroken);
      process.stdout.write(
        `-- ${alpha.name}'s lookup tool is now ${alpha.lookupBroken ? "broken" : "mended"}\n`,
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
  await traffic.stop();
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
