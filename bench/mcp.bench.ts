/**
 * What reading MCP answers costs (run by hand: `npm run bench:mcp`; needs Debian's wrk). One upstream
 * answering POSTed tools/calls three ways — a ~200-byte JSON result, a 1 MiB JSON result, and an event
 * stream of two progress notifications then the result — and in front of it, each in a process of its
 * own: Breakwater reading the answers (the default), Breakwater with `read_jsonrpc = false` (judging by
 * status: plain pass-through of the same proxy), and a minimal node:http + undici pass-through as the
 * floor. Rounds are interleaved; ratios are medians of per-round ratios (a shared 2-core machine's
 * speed drifts between rounds, and two targets in one round share its drift).
 *
 * Targets (issue 11): req/s reading ÷ not reading ≥ 0.9 on small answers; proxy CPU per MB of answer
 * reading ÷ not reading ≤ 1.2 on 1 MiB answers. `BENCH_SCENARIOS=small,code` runs some scenarios only
 * (small, prose, code, large, sse).
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
  nodeTarget,
  type Run,
  runWrk,
  type Target,
  waitForPort,
} from "./wrk.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 4);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const ONLY_SCENARIOS = process.env["BENCH_SCENARIOS"]?.split(",");
const scenarios = [
  { name: "~200 B JSON answer", path: "small", answerBytes: 200 },
  { name: "1 MiB answer: plain text", path: "prose", answerBytes: 1 << 20 },
  { name: "1 MiB answer: source code", path: "code", answerBytes: 1 << 20 },
  { name: "1 MiB answer: JSON in text (escape-dense)", path: "large", answerBytes: 1 << 20 },
  { name: "SSE: 2 progress events + answer", path: "sse", answerBytes: 800 },
].filter((s) => ONLY_SCENARIOS === undefined || ONLY_SCENARIOS.includes(s.path));

const upstreamPort = await freePort();
const upstreamProcess = node([here("./servers/mcpUpstream.ts"), String(upstreamPort)]);
await waitForPort(upstreamPort);
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

async function breakwater(name: string, readJsonRpc: boolean): Promise<Target> {
  const [port, admin] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "breakwater-mcp-bench-"));
  const config = join(dir, "breakwater.toml");
  writeFileSync(
    config,
    `[server]\nlisten = "127.0.0.1:${port}"\nadmin_listen = "127.0.0.1:${admin}"\n` +
      `[proxy]\nread_jsonrpc = ${readJsonRpc}\n[[upstreams]]\nname = "u"\nurl = "${upstreamUrl}"\n`,
  );
  return nodeTarget(name, [here("../src/cli.ts"), "--config", config], port);
}

const reading = "breakwater, reading answers";
const notReading = "breakwater, read_jsonrpc = false";
const floor = "minimal node:http + undici";
const minimalPort = await freePort();
const targets: Target[] = [
  await breakwater(reading, true),
  await breakwater(notReading, false),
  await nodeTarget(floor, [here("./servers/minimalProxy.ts"), String(minimalPort), upstreamUrl], minimalPort),
];

try {
  console.log(
    `# MCP answer reading — Node ${process.version}, wrk -c${CONNECTIONS}, ${ROUNDS} interleaved rounds of ${SECONDS} s, medians\n`,
  );
  const ratios: (string | number)[][] = [];
  for (const scenario of scenarios) {
    const wrk = (target: Target, seconds: number) => runWrk(target, seconds, "./wrk-mcp.lua", scenario.path);
    const runs = interleavedRounds(targets, ROUNDS, (target, warmUp) => wrk(target, warmUp ? 1 : SECONDS));
    const med = (name: string, key: keyof Run) => medianOf(runs, name, key);
    const perMb = (name: string) => med(name, "cpuMicrosPerRequest") / (scenario.answerBytes / (1 << 20));
    console.log(`## ${scenario.name}\n`);
    console.log(
      table(
        ["target", "req/s", "p50 ms", "p99 ms", "proxy CPU µs/req", "proxy CPU µs/MiB", "errors"],
        targets.map((t) => [
          t.name,
          med(t.name, "requestsPerSecond"),
          med(t.name, "p50"),
          med(t.name, "p99"),
          med(t.name, "cpuMicrosPerRequest"),
          perMb(t.name),
          med(t.name, "errors"),
        ]),
      ),
    );
    console.log("");
    const ratio = (a: string, b: string, key: keyof Run) => {
      const [as, bs] = [runs.get(a) ?? [], runs.get(b) ?? []];
      return median(as.map((run, i) => run[key] / ((bs[i] as Run)[key] as number)));
    };
    ratios.push(
      [
        `${scenario.name}: req/s reading ÷ not reading`,
        ratio(reading, notReading, "requestsPerSecond"),
        scenario.path === "small" ? "≥ 0.9" : "",
      ],
      [
        `${scenario.name}: CPU/req reading ÷ not reading`,
        ratio(reading, notReading, "cpuMicrosPerRequest"),
        scenario.answerBytes === 1 << 20 ? "≤ 1.2 (per MB)" : "",
      ],
      [`${scenario.name}: CPU/req reading ÷ minimal proxy`, ratio(reading, floor, "cpuMicrosPerRequest"), ""],
    );
  }
  console.log(table(["ratio", "measured", "target"], ratios));
} finally {
  for (const target of targets) target.stop();
  upstreamProcess.kill();
}
