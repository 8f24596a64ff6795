/**
 * The proxy benchmark (run by hand: `npm run bench:proxy`; needs Debian's wrk, and nginx for the C
 * reference). One upstream answering ~200-byte JSON-RPC results; in front of it, each in a process of
 * its own: nothing (direct), Breakwater with breakers on, Breakwater with every circuit disabled, a
 * minimal node:http + undici pass-through, fastify + @fastify/http-proxy, and nginx. wrk POSTs a
 * ~200-byte JSON-RPC request over 50 connections; rounds are interleaved and medians reported. Proxy
 * CPU per request comes from the proxy process's own utime + stime (/proc), which a shared 2-core
 * machine disturbs far less than throughput.
 *
 * `BENCH_BASELINE=/path/to/another/checkout` adds that checkout's Breakwater (breakers on) as
 * "breakwater (baseline)", to measure a change against the code before it side by side in one run.
 * `BENCH_ONLY=breakwater` keeps only the targets whose name starts with that (more rounds in the same
 * time, e.g. `BENCH_ONLY=breakwater BENCH_ROUNDS=16 BENCH_SECONDS=2`). `BENCH_SESSIONS=1` sends MCP
 * session traffic: every request carries the session its target gave an `initialize`. `BENCH_FLEET=1`
 * adds two targets from one config file, with and without `fleet.redis_url` (against a redis-server
 * the benchmark starts, Debian's), for the cost of sharing circuits (SPEC §6.2: Redis is off the
 * request path); `BENCH_ONLY="breakwater, fleet"` keeps just those two. `BENCH_SERVERS=1` adds three
 * targets from `[[servers]]` config files, for the cost of many servers (SPEC §7.1): one server on
 * route /s1; 100 servers on /s1 … /s100 (one upstream each, all the benchmark's), wrk cycling the 100
 * routes; and the same 100 with wrk on /s57 only (route lookup apart from 100 connection pools).
 * `BENCH_TELEMETRY=1` adds "breakwater (telemetry on)": breakers on as the first Breakwater, from a
 * config file with `[telemetry]` (`sample_ratio = 1`, every request traced, or `BENCH_SAMPLE_RATIO`'s
 * ratio: the cost at the ratio a deployment would run) exporting to an OTLP/HTTP
 * sink the benchmark starts (bench/servers/otlpSink.ts, a process of its own), for the cost of
 * telemetry (SPEC §9: ≤ 1.15× CPU per request); at the end, what the sink received against the
 * requests the proxy sent upstream, and the spans the proxy counted as dropped.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/freePort.ts";
import { median, table } from "./harness.ts";
import {
  CONNECTIONS,
  interleavedRounds,
  medianOf,
  nginxTarget,
  node,
  nodeTarget,
  type Run,
  runWrk,
  type Target,
  waitForPort,
} from "./wrk.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const SESSIONS = process.env["BENCH_SESSIONS"] === "1";
const BASELINE = process.env["BENCH_BASELINE"];
const ONLY = process.env["BENCH_ONLY"];
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const FLEET = process.env["BENCH_FLEET"] === "1";
const SERVERS = process.env["BENCH_SERVERS"] === "1";
const TELEMETRY = process.env["BENCH_TELEMETRY"] === "1";
const SAMPLE_RATIO = Number(process.env["BENCH_SAMPLE_RATIO"] ?? 1);
if (!(SAMPLE_RATIO >= 0 && SAMPLE_RATIO <= 1)) throw new Error("BENCH_SAMPLE_RATIO: a number from 0 to 1");
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const upstreamPort = await freePort();
const upstreamProcess = node([here("./servers/upstream.ts"), String(upstreamPort)]);
await waitForPort(upstreamPort);
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

const targets: Target[] = [
  { name: "direct (no proxy)", url: `${upstreamUrl}/`, pids: () => [], stop: () => {} },
];
/** The admin port of each Breakwater target, by name: its /metrics are read at the end. */
const adminOf = new Map<string, number>();
/**
 * Breakwater's CLI of `checkout` in front of the upstream; `disable` turns its circuit off; `config`, a
 * config file's text (its upstream is the benchmark's, named by its URL as the flag would).
 */
async function breakwaterTarget(
  name: string,
  checkout: string,
  disable = false,
  config?: string,
): Promise<Target> {
  const [port, admin] = [await freePort(), await freePort()];
  adminOf.set(name, admin);
  const args = ["--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${admin}`];
  if (config === undefined) args.push("--upstream", upstreamUrl);
  else {
    const path = join(work, `${name.replace(/\W+/g, "-")}.toml`);
    const upstreams = config.includes("[[servers]]")
      ? ""
      : `\n[[upstreams]]\nname = "${upstreamUrl}"\nurl = "${upstreamUrl}"\n`;
    writeFileSync(path, `${config}${upstreams}`);
    args.push("--config", path);
  }
  return nodeTarget(
    name,
    [join(checkout, "src/cli.ts"), ...args],
    port,
    disable
      ? async () => {
          const res = await fetch(
            `http://127.0.0.1:${admin}/circuits/${encodeURIComponent(upstreamUrl)}/disable`,
            { method: "POST" },
          );
          if (!res.ok) throw new Error(`could not disable the circuit: ${res.status}`);
        }
      : undefined,
  );
}
/** Waits (up to 10 s) until the redis-server on `port` answers PING. */
async function redisAnswers(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      execFileSync("redis-cli", ["-p", String(port), "ping"], { stdio: "ignore" });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}
const checkout = here("..");
const work = mkdtempSync(join(tmpdir(), "breakwater-bench-"));
targets.push(await breakwaterTarget("breakwater, breakers on", checkout));
let redis: ChildProcess | undefined;
if (FLEET) {
  const redisPort = await freePort();
  redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", ""], {
    stdio: "ignore",
  });
  await redisAnswers(redisPort);
  // both from a file, alike but for the one key
  // the same session keys on both sides: shared circuits need them (fleet messages are signed with them)
  const keys = `session_keys = ["${"ab".repeat(32)}"]`;
  targets.push(
    await breakwaterTarget("breakwater, fleet: redis_url unset", checkout, false, `[fleet]\n${keys}`),
  );
  const fleet = `[fleet]\n${keys}\nredis_url = "redis://127.0.0.1:${redisPort}"`;
  targets.push(await breakwaterTarget("breakwater, fleet: redis_url set", checkout, false, fleet));
}
targets.push(await breakwaterTarget("breakwater, breakers off", checkout, true));
/** `[[servers]]` s1 … s`count`, each on route /s<i> with one upstream, the benchmark's. */
const serversToml = (count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      `[[servers]]\nname = "s${i + 1}"\nroute = "/s${i + 1}"\n[[servers.upstreams]]\nurl = "${upstreamUrl}"\n`,
  ).join("\n");
/** How many routes wrk cycles through for each target (/s1 … /sN); absent: the target's own URL. */
const routesOf = new Map<string, number>();
if (SERVERS) {
  const one = await breakwaterTarget("breakwater, 1 server", checkout, false, serversToml(1));
  routesOf.set(one.name, 1);
  const hundred = await breakwaterTarget("breakwater, 100 servers", checkout, false, serversToml(100));
  routesOf.set(hundred.name, 100);
  const oneRoute = await breakwaterTarget(
    "breakwater, 100 servers, one route",
    checkout,
    false,
    serversToml(100),
  );
  oneRoute.url = `${oneRoute.url}s57`;
  targets.push(one, hundred, oneRoute);
}
if (BASELINE !== undefined) targets.push(await breakwaterTarget("breakwater (baseline)", BASELINE));
/** The span name of wrk's request (`{mcp.method.name} {gen_ai.tool.name}`), which the sink counts. */
const spanName = "tools/call echo";
let sink: { process: ChildProcess; port: number } | undefined;
if (TELEMETRY) {
  const sinkPort = await freePort();
  sink = { process: node([here("./servers/otlpSink.ts"), String(sinkPort), spanName]), port: sinkPort };
  await waitForPort(sinkPort);
  const telemetry = `[telemetry]\notlp_endpoint = "http://127.0.0.1:${sinkPort}"\nsample_ratio = ${SAMPLE_RATIO.toFixed(4)}`;
  targets.push(await breakwaterTarget("breakwater (telemetry on)", checkout, false, telemetry));
}
const minimalPort = await freePort();
targets.push(
  await nodeTarget(
    "minimal node:http + undici",
    [here("./servers/minimalProxy.ts"), String(minimalPort), upstreamUrl],
    minimalPort,
  ),
);
const fastifyPort = await freePort();
targets.push(
  await nodeTarget(
    "fastify + @fastify/http-proxy",
    [here("./servers/fastifyProxy.ts"), String(fastifyPort), upstreamUrl],
    fastifyPort,
  ),
);
const nginx = await nginxTarget(upstreamPort);
if (nginx) targets.push(nginx);
if (ONLY !== undefined) {
  for (const target of targets.filter((t) => !t.name.startsWith(ONLY))) target.stop();
  targets.splice(0, targets.length, ...targets.filter((t) => t.name.startsWith(ONLY)));
}

try {
  console.log(
    `# Proxy benchmark — Node ${process.version}, wrk -c${CONNECTIONS}, ${ROUNDS} interleaved rounds of ${SECONDS} s, medians\n`,
  );
  // with BENCH_SESSIONS=1, every request carries the session its target gave an initialize (MCP session
  // traffic: the token opened on each request, or the raw id looked up, for a baseline before tokens)
  const sessions = new Map<string, string>();
  if (SESSIONS) {
    for (const target of targets) {
      const res = await fetch(target.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}',
      });
      await res.arrayBuffer();
      sessions.set(target.name, res.headers.get("mcp-session-id") ?? "");
    }
  }
  const runs = interleavedRounds(targets, ROUNDS, (target, warmUp) =>
    SESSIONS
      ? runWrk(target, warmUp ? 2 : SECONDS, "./wrk-session.lua", "", {
          MCP_SESSION: sessions.get(target.name),
        })
      : routesOf.has(target.name)
        ? runWrk(target, warmUp ? 2 : SECONDS, "./wrk-routes.lua", "", {
            ROUTES: String(routesOf.get(target.name)),
          })
        : runWrk(target, warmUp ? 2 : SECONDS),
  );
  const med = (name: string, key: keyof Run) => medianOf(runs, name, key);
  console.log(
    table(
      ["target", "req/s", "p50 ms", "p99 ms", "proxy CPU µs/req", "errors"],
      targets.map((t) => [
        t.name,
        med(t.name, "requestsPerSecond"),
        med(t.name, "p50"),
        med(t.name, "p99"),
        med(t.name, "cpuMicrosPerRequest"),
        med(t.name, "errors"),
      ]),
    ),
  );
  // the median of per-round ratios: two targets measured in the same round share that round's noise
  // (this machine's speed drifts by tens of percent between rounds), which a ratio of medians does not
  const ratio = (a: string, b: string, key: keyof Run) => {
    const [as, bs] = [runs.get(a) ?? [], runs.get(b) ?? []];
    if (as.length === 0 || bs.length === 0) return Number.NaN; // a target left out by BENCH_ONLY
    return median(as.map((run, i) => run[key] / ((bs[i] as Run)[key] as number)));
  };
  // the spread behind the medians: on a shared 2-core machine it is wide, and worth seeing
  const perRound = (name: string, against: string, label: string) => {
    for (const key of ["requestsPerSecond", "cpuMicrosPerRequest"] as const) {
      const [as, bs] = [runs.get(name) ?? [], runs.get(against) ?? []];
      const each = as.map((run, i) => (run[key] / ((bs[i] as Run)[key] as number)).toFixed(2));
      console.log(`per-round ${key} ÷ ${label}: ${each.join(" ")}`);
    }
  };
  if (BASELINE !== undefined) perRound("breakwater, breakers on", "breakwater (baseline)", "baseline");
  if (TELEMETRY) perRound("breakwater (telemetry on)", "breakwater, breakers on", "telemetry off");
  console.log(
    `\n${table(
      ["ratio", "measured", "target"],
      [
        [
          "req/s: breakers on ÷ breakers off",
          ratio("breakwater, breakers on", "breakwater, breakers off", "requestsPerSecond"),
          "≥ 0.97",
        ],
        [
          "CPU/req: breakers on ÷ breakers off",
          ratio("breakwater, breakers on", "breakwater, breakers off", "cpuMicrosPerRequest"),
          "",
        ],
        [
          "req/s: breakwater ÷ fastify",
          ratio("breakwater, breakers on", "fastify + @fastify/http-proxy", "requestsPerSecond"),
          "≥ 2",
        ],
        ["CPU µs/req: breakwater", med("breakwater, breakers on", "cpuMicrosPerRequest"), "≤ 50"],
        ...(SERVERS
          ? [
              [
                "req/s: 100 servers ÷ 1 server",
                ratio("breakwater, 100 servers", "breakwater, 1 server", "requestsPerSecond"),
                "≥ 0.97",
              ],
              [
                "CPU/req: 100 servers ÷ 1 server",
                ratio("breakwater, 100 servers", "breakwater, 1 server", "cpuMicrosPerRequest"),
                "",
              ],
              [
                "req/s: 100 servers, one route ÷ 1 server",
                ratio("breakwater, 100 servers, one route", "breakwater, 1 server", "requestsPerSecond"),
                "≥ 0.97",
              ],
              [
                "req/s: 1 server ÷ breakers on (old form)",
                ratio("breakwater, 1 server", "breakwater, breakers on", "requestsPerSecond"),
                "≥ 0.97",
              ],
            ]
          : []),
        ...(FLEET
          ? [
              [
                "req/s: redis_url set ÷ unset",
                ratio(
                  "breakwater, fleet: redis_url set",
                  "breakwater, fleet: redis_url unset",
                  "requestsPerSecond",
                ),
                "≥ 0.98",
              ],
              [
                "CPU/req: redis_url set ÷ unset",
                ratio(
                  "breakwater, fleet: redis_url set",
                  "breakwater, fleet: redis_url unset",
                  "cpuMicrosPerRequest",
                ),
                "",
              ],
            ]
          : []),
        ...(TELEMETRY
          ? [
              [
                "req/s: telemetry on ÷ off",
                ratio("breakwater (telemetry on)", "breakwater, breakers on", "requestsPerSecond"),
                "",
              ],
              [
                "CPU/req: telemetry on ÷ off",
                ratio("breakwater (telemetry on)", "breakwater, breakers on", "cpuMicrosPerRequest"),
                "≤ 1.15",
              ],
            ]
          : []),
        ...(BASELINE === undefined
          ? []
          : [
              [
                "req/s: breakwater ÷ baseline",
                ratio("breakwater, breakers on", "breakwater (baseline)", "requestsPerSecond"),
                "≥ 0.97",
              ],
              [
                "CPU/req: breakwater ÷ baseline",
                ratio("breakwater, breakers on", "breakwater (baseline)", "cpuMicrosPerRequest"),
                "≤ 1.03",
              ],
            ]),
      ],
    )}`,
  );
  if (sink !== undefined && runs.has("breakwater (telemetry on)")) {
    await reportExports(sink.port, "breakwater (telemetry on)");
  }
} finally {
  for (const target of targets) target.stop();
  upstreamProcess.kill();
  redis?.kill();
  sink?.process.kill();
  rmSync(work, { recursive: true, force: true });
}

/** The sum of the samples of `metric` in a Prometheus text exposition (every label set). */
function sumOf(exposition: string, metric: string): number {
  return exposition
    .split("\n")
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

/**
 * What the sink on `sinkPort` received from target `name`, against the requests that target sent
 * upstream (its /metrics): two spans per request (server and client) show every request was traced.
 * Waits first for the batch still queued (the batch processor sends every 5 s, `OTEL_BSP_SCHEDULE_DELAY`).
 */
async function reportExports(sinkPort: number, name: string): Promise<void> {
  await sleep(6_000);
  const exposition = await (await fetch(`http://127.0.0.1:${adminOf.get(name)}/metrics`)).text();
  const requests = sumOf(exposition, "breakwater_upstream_requests_total");
  const dropped = sumOf(exposition, "breakwater_telemetry_dropped_total");
  const counts = (await (await fetch(`http://127.0.0.1:${sinkPort}/counts`)).json()) as {
    traces: { exports: number; bytes: number; named: number; server: number; client: number };
    metrics: { exports: number; bytes: number };
  };
  const { traces, metrics } = counts;
  console.log(
    `\n${table(
      ["OTLP sink (telemetry on)", "received"],
      [
        ["requests the proxy sent upstream", requests],
        ["trace exports (bytes)", `${traces.exports} (${traces.bytes})`],
        [`spans named "${spanName}"`, traces.named],
        ["server spans (mcp.server) per request", traces.server / requests],
        ["client spans (mcp.client) per request", traces.client / requests],
        ["spans dropped (breakwater_telemetry_dropped_total)", dropped],
        ["metric exports (bytes)", `${metrics.exports} (${metrics.bytes})`],
      ],
    )}`,
  );
}
