/**
 * What the proxy benchmarks share: processes to measure (with their CPU read from /proc), and wrk runs
 * against them. wrk is Debian's (`apt-get install wrk`); nginx, when installed, is the C reference.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/freePort.ts";
import { median } from "./harness.ts";

export const CONNECTIONS = 50;
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const work = mkdtempSync(join(tmpdir(), "breakwater-bench-"));

export interface Target {
  name: string;
  url: string;
  /** Processes whose CPU counts as the proxy's (none for direct). */
  pids: () => number[];
  stop: () => void;
}

export async function waitForPort(port: number): Promise<void> {
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

export function node(args: string[]): ChildProcess {
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

export async function nodeTarget(
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

export async function nginxTarget(upstreamPort: number): Promise<Target | undefined> {
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

export interface Run {
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

/**
 * Runs wrk against `target` for `seconds` (50 connections, one thread), with the Lua `script` that
 * shapes its requests, and reads the proxy's CPU from /proc around it. `path` is added to its URL.
 */
export function runWrk(
  target: Target,
  seconds: number,
  script = "./wrk-post.lua",
  path = "",
  env: NodeJS.ProcessEnv = {},
): Run {
  const pids = target.pids();
  const before = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const out = execFileSync(
    "wrk",
    ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", here(script), `${target.url}${path}`],
    { encoding: "utf8", env: { ...process.env, ...env } },
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

/**
 * Runs `run` once per target per round, the order reversed every other round (so that neither target
 * always follows the other), after a warm-up of each; returns the runs of each target, by name.
 */
export function interleavedRounds(
  targets: readonly Target[],
  rounds: number,
  run: (target: Target, warmUp: boolean) => Run,
): Map<string, Run[]> {
  for (const target of targets) run(target, true);
  const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) runs.get(target.name)?.push(run(target, false));
  }
  return runs;
}

/** The median of `key` over the runs of target `name`. */
export function medianOf(runs: Map<string, Run[]>, name: string, key: keyof Run): number {
  return median((runs.get(name) ?? []).map((r) => r[key]));
}
