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
 * time, e.g. `BENCH_ONLY=breakwater BENCH_ROUNDS=16 BENCH_SECONDS=2`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/freePort.ts";
import { median, table } from "./harness.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const BASELINE = process.env["BENCH_BASELINE"];
const ONLY = process.env["BENCH_ONLY"];
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const CONNECTIONS = 50;
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const work = mkdtempSync(join(tmpdir(), "breakwater-bench-"));

interface Target {
  name: string;
  url: string;
  /** Processes whose CPU counts as the proxy's (none for direct). */
  pids: () => number[];
  stop: () => void;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing answered on port ${port}`);
}

function node(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
}

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function nodeTarget(
  name: string,
  args: string[],
  port: number,
  after?: () => Promise<void>,
): Promise<Target> {
  const child = node(args);
  await waitForPort(port);
  await after?.();
  return {
    name,
    url: `http://127.0.0.1:${port}/`,
    pids: () => [child.pid as number],
    stop: () => child.kill(),
  };
}

async function nginxTarget(upstreamPort: number): Promise<Target | undefined> {
  try {
    execFileSync("nginx", ["-v"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const port = await freePort();
  const prefix = mkdtempSync(join(work, "nginx-"));
  const conf = join(prefix, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1; pid ${prefix}/nginx.pid; error_log stderr error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const master = spawn("nginx", ["-p", prefix, "-c", conf, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitForPort(port);
  const pid = master.pid as number;
  return {
    name: "nginx (C reference)",
    url: `http://127.0.0.1:${port}/`,
    pids: () => [pid, ...childrenOf(pid)],
    stop: () => master.kill(),
  };
}

interface Run {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  errors: number;
}

function ms(text: string): number {
  const value = Number.parseFloat(text);
  return text.endsWith("us") ? value / 1_000 : text.endsWith("ms") ? value : value * 1_000;
}

function runWrk(target: Target, seconds: number): Run {
  const pids = target.pids();
  const before = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const out = execFileSync(
    "wrk",
    ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", here("./wrk-post.lua"), target.url],
    { encoding: "utf8" },
  );
  const after = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors =
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) +
    Number(/Socket errors: .*?(\d+) timeout/.exec(out)?.[1] ?? 0);
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "0"),
    p99: ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "0"),
    cpuMicrosPerRequest:
      pids.length === 0 || requests === 0 ? NaN : (((after - before) / ticksPerSecond) * 1e6) / requests,
    errors,
  };
}

const upstreamPort = await freePort();
const upstreamProcess = node([here("./servers/upstream.ts"), String(upstreamPort)]);
await waitForPort(upstreamPort);
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

const targets: Target[] = [
  { name: "direct (no proxy)", url: `${upstreamUrl}/`, pids: () => [], stop: () => {} },
];
/** Breakwater's CLI of `checkout` in front of the upstream; `disable` turns its circuit off. */
async function breakwaterTarget(name: string, checkout: string, disable = false): Promise<Target> {
  const [port, admin] = [await freePort(), await freePort()];
  const args = [
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${admin}`,
    "--upstream",
    upstreamUrl,
  ];
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
const checkout = here("..");
targets.push(await breakwaterTarget("breakwater, breakers on", checkout));
targets.push(await breakwaterTarget("breakwater, breakers off", checkout, true));
if (BASELINE !== undefined) targets.push(await breakwaterTarget("breakwater (baseline)", BASELINE));
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
  for (const target of targets) runWrk(target, 2); // warm-up
  const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) runs.get(target.name)?.push(runWrk(target, SECONDS));
  }
  const med = (name: string, key: keyof Run) => median((runs.get(name) ?? []).map((r) => r[key]));
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
} finally {
  for (const target of targets) target.stop();
  upstreamProcess.kill();
}
