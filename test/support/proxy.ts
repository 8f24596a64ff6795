import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Breakwater } from "../../src/app/Breakwater.ts";
import { loadTelemetry } from "../../src/app/loadTelemetry.ts";
import { createLogger } from "../../src/app/logger.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import type { ExportOptions } from "../../src/telemetry/startTelemetry.ts";
import type { Timers } from "../../src/time/Timers.ts";
import { ManualClock } from "./ManualClock.ts";
import { type Handler, startUpstream, type TestUpstream } from "./upstream.ts";

export interface TestProxy {
  readonly url: string;
  readonly adminUrl: string;
  readonly breakwater: Breakwater;
  readonly clock: ManualClock;
  /** Log lines written so far, parsed. */
  readonly logs: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/** How a test proxy keeps time besides its breakers' manual clock. */
export interface TestProxyOptions {
  /** Deadlines, health-check intervals, draining: a test passes `ManualTimers` to step them. */
  readonly timers?: Timers;
  /** How a config with `[telemetry]` batches and exports (small queues, short delays in tests). */
  readonly telemetry?: ExportOptions;
}

/**
 * Breakwater from a TOML text, listening on ports of the system's choosing, with a manual clock for its
 * breakers and its log lines captured.
 */
export async function startProxy(
  toml: string,
  env: NodeJS.ProcessEnv = {},
  options: TestProxyOptions = {},
): Promise<TestProxy> {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-test-"));
  const path = join(dir, "breakwater.toml");
  writeFileSync(path, toml);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  try {
    const { config } = loadConfig(
      { configPath: path, listen: "127.0.0.1:0", adminListen: "127.0.0.1:0" },
      env,
    );
    const clock = new ManualClock(1_000_000);
    const telemetry =
      config.telemetry === undefined ? undefined : await loadTelemetry(config.telemetry, options.telemetry);
    const logger = createLogger(sink, undefined, telemetry?.logFields);
    const timers = options.timers === undefined ? {} : { timers: options.timers };
    const breakwater = new Breakwater({ config, logger, clock, telemetry, ...timers });
    const { proxy, admin } = await breakwater.start();
    return {
      url: `http://127.0.0.1:${proxy.port}`,
      adminUrl: `http://127.0.0.1:${admin.port}`,
      breakwater,
      clock,
      logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
      close: () => {
        // stepped time never ends a grace period by itself: what is still open is cut at once
        if (options.timers !== undefined)
          for (const server of [breakwater.proxy.server, breakwater.admin.server])
            server.closeAllConnections();
        return breakwater.close(1_000);
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TOML `[[upstreams]]` list. */
export function upstreamsToml(upstreams: { name: string; url: string; extra?: string }[]): string {
  return upstreams
    .map((u) => `[[upstreams]]\nname = "${u.name}"\nurl = "${u.url}"\n${u.extra ?? ""}\n`)
    .join("\n");
}

/** One upstream of a `[[servers]]` entry: an HTTP `url` or a stdio `command`; unnamed, it is `<server>-<n>`. */
export interface ServerUpstreamToml {
  readonly name?: string;
  readonly url?: string;
  readonly command?: readonly string[];
  /** More lines of its `[[servers.upstreams]]` table. */
  readonly extra?: string;
}

/** One `[[servers]]` entry (SPEC §7.1). */
export interface ServerToml {
  readonly name: string;
  readonly route?: string;
  /** More keys of the server's own table (`tools = …`, `[servers.circuit_breaker]` …), before its upstreams. */
  readonly extra?: string;
  readonly upstreams: readonly ServerUpstreamToml[];
}

/** A TOML `[[servers]]` list, each with its `[[servers.upstreams]]`. */
export function serversToml(servers: readonly ServerToml[]): string {
  const line = (key: string, value: unknown) =>
    value === undefined ? "" : `${key} = ${JSON.stringify(value)}\n`;
  return servers
    .map(
      (s) =>
        `[[servers]]\n${line("name", s.name)}${line("route", s.route)}${s.extra ?? ""}\n` +
        s.upstreams
          .map(
            (u) =>
              `[[servers.upstreams]]\n${line("name", u.name)}${line("url", u.url)}${line("command", u.command)}${u.extra ?? ""}\n`,
          )
          .join("\n"),
    )
    .join("\n");
}

/** A JSON-RPC request body. */
export function rpc(id: number | string | null, method = "tools/list"): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method });
}

/**
 * Named upstreams, each answering with its handler, and a proxy in front of them (in that order),
 * configured by `toml` plus the `[[upstreams]]` list; `extra` adds lines to one upstream's table.
 */
export async function startFleet(
  handlers: Record<string, Handler>,
  toml = "",
  extra: Record<string, string> = {},
  options: TestProxyOptions = {},
): Promise<{ proxy: TestProxy; upstreams: Record<string, TestUpstream>; close(): Promise<void> }> {
  const upstreams: Record<string, TestUpstream> = {};
  for (const [name, handler] of Object.entries(handlers)) upstreams[name] = await startUpstream(handler);
  const list = Object.entries(upstreams).map(([name, u]) => ({ name, url: u.url, extra: extra[name] ?? "" }));
  const proxy = await startProxy(`${toml}\n${upstreamsToml(list)}`, {}, options);
  return {
    proxy,
    upstreams,
    async close() {
      await proxy.close();
      for (const u of Object.values(upstreams)) await u.close();
    },
  };
}
