/**
 * What the aggregate costs (run by hand: `npm run bench:aggregate`; needs Debian's wrk). One Breakwater
 * fronts 10 servers s1…s10 (one upstream each, a raw 2026-07-28 server listing 50 tools with
 * `listChanged`), each on its own route, and all of them through `[aggregate] route = "/mcp"`:
 *
 * 1. `tools/call` of `s3__echo` on /mcp against `echo` on /s3/mcp (the same call on the server's own
 *    route), interleaved rounds of the same process: proxy CPU per request, aggregate ÷ route
 *    (target ≤ 1.15).
 * 2. `tools/list` on /mcp: the merged list of 10 × 50 tools from Breakwater's per-server lists —
 *    proxy CPU per request (target < 1 ms), and the servers' list count over the run (0: no server
 *    was asked; the lists are kept fresh by their change streams).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/freePort.ts";
import { median, table } from "./harness.ts";
import {
  CONNECTIONS,
  interleavedRounds,
  medianOf,
  node,
  type Run,
  runWrk,
  type Target,
  waitForPort,
} from "./wrk.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 4);
const SERVERS = 10;
/** `BENCH_ONLY=call`: the tools/call rounds only (the list part takes as long again). */
const ONLY = process.env["BENCH_ONLY"];
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const upstreamPort = await freePort();
const upstream = node([here("./servers/aggregateUpstream.ts"), String(upstreamPort)]);
await waitForPort(upstreamPort);
const listsAsked = async () =>
  ((await (await fetch(`http://127.0.0.1:${upstreamPort}/count`)).json()) as { lists: number }).lists;

const [port, admin] = [await freePort(), await freePort()];
const dir = mkdtempSync(join(tmpdir(), "breakwater-aggregate-bench-"));
const config = join(dir, "breakwater.toml");
let toml = `[server]\nlisten = "127.0.0.1:${port}"\nadmin_listen = "127.0.0.1:${admin}"\nlog_level = "warn"\n`;
toml += `[aggregate]\nroute = "/mcp"\n`;
for (let i = 1; i <= SERVERS; i++) {
  toml += `[[servers]]\nname = "s${i}"\nroute = "/s${i}/mcp"\n`;
  toml += `[[servers.upstreams]]\nurl = "http://127.0.0.1:${upstreamPort}/s${i}"\n`;
}
writeFileSync(config, toml);
const proxy = node([here("../src/cli.ts"), "--config", config]);
await waitForPort(port);
const pids = () => [proxy.pid as number];
const target = (name: string, path: string): Target => ({
  name,
  url: `http://127.0.0.1:${port}${path}`,
  pids,
  stop: () => {},
});

try {
  console.log(
    `# The aggregate — Node ${process.version}, ${SERVERS} servers × 50 tools, wrk -c${CONNECTIONS}, ${ROUNDS} interleaved rounds of ${SECONDS} s, medians\n`,
  );
  const aggregate = target("tools/call s3__echo on /mcp (aggregate)", "/mcp");
  const route = target("tools/call echo on /s3/mcp (route)", "/s3/mcp");
  const calls = interleavedRounds([aggregate, route], ROUNDS, (t, warmUp) =>
    runWrk(t, warmUp ? 1 : SECONDS, "./wrk-aggregate.lua", "", {
      KIND: "call",
      TOOL: t === aggregate ? "s3__echo" : "echo",
    }),
  );
  const listsBefore = await listsAsked();
  const list = target("tools/list on /mcp (10 × 50 tools)", "/mcp");
  const lists =
    ONLY === "call"
      ? new Map<string, Run[]>()
      : interleavedRounds([list], ROUNDS, (t, warmUp) =>
          runWrk(t, warmUp ? 1 : SECONDS, "./wrk-aggregate.lua", "", { KIND: "list" }),
        );
  const listsDuring = (await listsAsked()) - listsBefore;
  const runs = new Map([...calls, ...lists]);
  const rows = (ONLY === "call" ? [aggregate, route] : [aggregate, route, list]).map((t) => [
    t.name,
    medianOf(runs, t.name, "requestsPerSecond"),
    medianOf(runs, t.name, "p50"),
    medianOf(runs, t.name, "p99"),
    medianOf(runs, t.name, "cpuMicrosPerRequest"),
    medianOf(runs, t.name, "errors"),
  ]);
  console.log(table(["target", "req/s", "p50 ms", "p99 ms", "proxy CPU µs/req", "errors"], rows));
  const ratios = (a: string, b: string, key: keyof Run) => {
    const [as, bs] = [runs.get(a) ?? [], runs.get(b) ?? []];
    return as.map((run, i) => run[key] / ((bs[i] as Run)[key] as number));
  };
  const ratio = (a: string, b: string, key: keyof Run) => median(ratios(a, b, key));
  // the spread of the rounds' ratios says how far the median can be trusted on a shared machine
  const cpuRatios = ratios(aggregate.name, route.name, "cpuMicrosPerRequest").sort((x, y) => x - y);
  console.log(`tools/call CPU/req ratios by round, sorted: ${cpuRatios.map((r) => r.toFixed(2)).join(" ")}`);
  console.log("");
  console.log(
    table(
      ["measure", "measured", "target"],
      [
        [
          "tools/call CPU/req: aggregate ÷ route",
          ratio(aggregate.name, route.name, "cpuMicrosPerRequest"),
          "≤ 1.15",
        ],
        ["tools/call req/s: aggregate ÷ route", ratio(aggregate.name, route.name, "requestsPerSecond"), ""],
        ["tools/list proxy CPU µs/req", medianOf(runs, list.name, "cpuMicrosPerRequest"), "< 1000"],
        ["lists asked of the servers during the tools/list runs", listsDuring, "0"],
      ],
    ),
  );
} finally {
  proxy.kill();
  upstream.kill();
}
