/**
 * The chaos and load run (scripts/test-circuit-breaker.sh). Breakwater, as the real command in a child
 * process, in front of a "bad" upstream whose behaviour changes phase by phase and a "good" one; a
 * bounded closed-loop load through it; per phase: what clients saw, what reached the bad upstream,
 * the bad circuit's states over time (from the audit log) and the proxy's RSS. Then a single-upstream
 * segment, where rejections have nowhere else to go. Exits 1 when a count-based criterion fails:
 * while the bad circuit is open no client sees an error, and refused connections never cost a client
 * anything. Latencies are reported, not judged. `--soak-seconds N` instead holds one outage for N
 * seconds at a steady load and reports RSS over time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { median, table } from "../bench/harness.ts";
import { type ChaosMode, ChaosUpstream } from "./ChaosUpstream.ts";
import { freePort } from "./freePort.ts";

const { values } = parseArgs({
  options: {
    "phase-seconds": { type: "string", default: "10" },
    concurrency: { type: "string", default: "16" },
    "soak-seconds": { type: "string" },
  },
});
const phaseMs = Number(values["phase-seconds"]) * 1_000;
const concurrency = Number(values.concurrency);
const maxRequestsPerPhase = 500_000; // a bound, whatever the machine's speed

interface Transition {
  at: number;
  upstream: string;
  /** Set for a tool's circuit. */
  tool: string | undefined;
  from: string;
  to: string;
  reason: string;
}

interface Proxy {
  url: string;
  adminUrl: string;
  pid: number;
  transitions: Transition[];
  stop(): Promise<void>;
}

/** Breakwater as its command runs, from a config with the chaos run's short timings. */
async function startProxy(upstreams: ChaosUpstream[]): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-chaos-"));
  const config = join(dir, "breakwater.toml");
  writeFileSync(
    config,
    `[server]
listen = "127.0.0.1:${await freePort()}"
admin_listen = "127.0.0.1:${await freePort()}"
[proxy]
request_timeout_ms = 1000
[proxy.health_check]
kind = "mcp"
interval_secs = 0.5
timeout_ms = 1000
[proxy.circuit_breaker]
failure_threshold = 3
timeout_duration_secs = 2
success_threshold = 2
slow_call_duration_ms = 200
${upstreams.map((u) => `[[upstreams]]\nname = "${u.name}"\nurl = "${u.url}"\n`).join("\n")}`,
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [fileURLToPath(new URL("../src/cli.ts", import.meta.url)), "--config", config],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const transitions: Transition[] = [];
  const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`breakwater exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, string>;
      if (entry["msg"] === "breakwater listening")
        resolve([entry["proxy"] as string, entry["admin"] as string]);
      if (entry["from"] !== undefined) {
        transitions.push({
          at: Date.parse(entry["time"] as string),
          upstream: entry["upstream"] as string,
          tool: entry["tool"],
          from: entry["from"],
          to: entry["to"] as string,
          reason: entry["reason"] as string,
        });
      }
    });
  });
  return {
    url,
    adminUrl,
    pid: child.pid as number,
    transitions,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function rssMiB(pid: number): number {
  const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kib) / 1024;
}

interface Outcome {
  start: number;
  ms: number;
  /** The HTTP status; "error" when the response broke; "rpc-error" for a 2xx carrying a JSON-RPC error. */
  status: number | "error" | "rpc-error";
}

/** A closed-loop load: `concurrency` clients, each sending its next request when the last one ends. */
async function load(url: string, durationMs: number, sse: boolean): Promise<Outcome[]> {
  const pool = new Pool(url, { connections: concurrency });
  const outcomes: Outcome[] = [];
  const until = Date.now() + durationMs;
  const body =
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":1}}}';
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until && outcomes.length < maxRequestsPerPhase) {
        const start = Date.now();
        const t0 = performance.now();
        let status: Outcome["status"];
        try {
          // a call answered as JSON, or as an event stream (progress, then the answer)
          const res = await pool.request({
            path: sse ? "/sse" : "/",
            method: "POST",
            body,
            headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          });
          const text = await res.body.text(); // a stream cut short throws here
          // an MCP client sees a failed call in a 200 too (the chaos upstream's error, or one passed on)
          status = res.statusCode === 200 && text.includes('"error":{"code"') ? "rpc-error" : res.statusCode;
        } catch {
          status = "error";
        }
        outcomes.push({ start, ms: performance.now() - t0, status });
      }
    }),
  );
  await pool.close();
  return outcomes;
}

/** The intervals in which `upstream`'s circuit was open (not half-open), from the audit log. */
function openIntervals(
  transitions: Transition[],
  upstream: string,
  from: number,
  to: number,
): [number, number][] {
  const intervals: [number, number][] = [];
  let openedAt: number | undefined;
  for (const t of transitions.filter((t) => t.upstream === upstream && t.tool === undefined)) {
    if (t.to === "open") openedAt = t.at;
    else if (openedAt !== undefined) {
      intervals.push([openedAt, t.at]);
      openedAt = undefined;
    }
  }
  if (openedAt !== undefined) intervals.push([openedAt, to]);
  return intervals.filter(([, end]) => end > from);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
};
const ok = (o: Outcome) => typeof o.status === "number" && o.status >= 200 && o.status < 300;

interface Phase {
  name: string;
  mode: ChaosMode;
  sse?: boolean;
  /** "refused": no error at all; "open": no error while the bad circuit is open; none: reported only. */
  criterion?: "refused" | "open";
  /** The bad upstream's own circuit must open during the phase. */
  mustOpen?: boolean;
  /** The phase starts from the state the last one left (recovery), not from closed circuits. */
  carriesOn?: boolean;
}

const failures: string[] = [];

/** Resets `upstream`'s circuit and its tools' through the admin listener. */
async function resetCircuits(adminUrl: string, upstream: string): Promise<void> {
  const circuits = (await (await fetch(`${adminUrl}/circuits`)).json()) as {
    circuit_breakers: Record<string, { tools: Record<string, unknown> }>;
  };
  const name = encodeURIComponent(upstream);
  const paths = [
    `/circuits/${name}/reset`,
    ...Object.keys(circuits.circuit_breakers[upstream]?.tools ?? {}).map(
      (tool) => `/circuits/${name}/tools/${encodeURIComponent(tool)}/reset`,
    ),
  ];
  for (const path of paths) await (await fetch(`${adminUrl}${path}`, { method: "POST" })).arrayBuffer();
}

async function runPhases(title: string, phases: Phase[], upstreams: ChaosUpstream[], bad: ChaosUpstream) {
  const proxy = await startProxy(upstreams);
  // the proxy makes tool circuits only for tools an upstream has shown (SPEC §3.2): a few calls of echo
  // answered while every upstream is still well show it, as a client's earlier calls would
  for (let i = 0; i < 2 * upstreams.length; i++) {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}';
    await (
      await fetch(proxy.url, { method: "POST", body, headers: { "content-type": "application/json" } })
    ).arrayBuffer();
  }
  const rows: (string | number)[][] = [];
  const timelines: string[] = [];
  try {
    for (const phase of phases) {
      // each way of going bad starts from a healthy upstream's circuits, so that it shows on its own
      if (!phase.carriesOn) await resetCircuits(proxy.adminUrl, bad.name);
      await bad.set(phase.mode);
      const before = bad.requests;
      const rssStart = rssMiB(proxy.pid);
      const began = Date.now();
      const outcomes = await load(proxy.url, phaseMs, phase.sse ?? false);
      const ended = Date.now();
      const statuses = new Map<string, number>();
      for (const o of outcomes) statuses.set(String(o.status), (statuses.get(String(o.status)) ?? 0) + 1);
      const open = openIntervals(proxy.transitions, bad.name, began, ended);
      const whileOpen = outcomes.filter((o) => open.some(([a, b]) => o.start >= a && o.start + o.ms <= b));
      const errorsWhileOpen = whileOpen.filter((o) => !ok(o)).length;
      const errors = outcomes.filter((o) => !ok(o)).length;
      const rejected = outcomes.filter((o) => o.status === 503).map((o) => o.ms);
      rows.push([
        phase.name,
        outcomes.length,
        `${((100 * (outcomes.length - errors)) / Math.max(1, outcomes.length)).toFixed(2)}%`,
        [...statuses].map(([s, n]) => `${s}×${n}`).join(" "),
        percentile(
          outcomes.map((o) => o.ms),
          50,
        ),
        percentile(
          outcomes.map((o) => o.ms),
          99,
        ),
        rejected.length === 0 ? "–" : percentile(rejected, 99).toFixed(2),
        bad.requests - before,
        `${whileOpen.length} / ${errorsWhileOpen}`,
        `${rssStart.toFixed(1)} → ${rssMiB(proxy.pid).toFixed(1)}`,
      ]);
      const seen = proxy.transitions.filter((t) => t.upstream === bad.name && t.at >= began && t.at <= ended);
      const own = seen.filter((t) => t.tool === undefined);
      const tools = seen.filter((t) => t.tool !== undefined);
      const at = (t: Transition) => `${t.to} @${((t.at - began) / 1000).toFixed(1)}s (${t.reason})`;
      timelines.push(
        `- ${phase.name}: ${own.length === 0 ? "no change" : own.map(at).join(", ")}` +
          (tools.length === 0
            ? ""
            : `; its tool circuits: ${tools.map((t) => `${t.tool} ${at(t)}`).join(", ")}`),
      );
      if (phase.mustOpen && !own.some((t) => t.to === "open"))
        failures.push(`${title} / ${phase.name}: the bad upstream's circuit never opened`);
      if (phase.criterion === "refused" && errors > 0)
        failures.push(`${title} / ${phase.name}: ${errors} client errors with connections refused`);
      if (phase.criterion === "open" && errorsWhileOpen > 0) {
        failures.push(
          `${title} / ${phase.name}: ${errorsWhileOpen} client errors while the bad circuit was open`,
        );
      }
    }
  } finally {
    await proxy.stop();
  }
  console.log(`\n## ${title}\n`);
  console.log(
    table(
      [
        "phase",
        "requests",
        "client success",
        "status mix",
        "p50 ms",
        "p99 ms",
        "503 p99 ms",
        "reached bad",
        "while open / errors",
        "proxy RSS MiB",
      ],
      rows,
    ),
  );
  console.log(`\nThe bad circuit over time:\n${timelines.join("\n")}`);
}

const bad = new ChaosUpstream("bad");
const good = new ChaosUpstream("good");
await bad.start();
await good.start();
try {
  if (values["soak-seconds"] !== undefined) {
    const seconds = Number(values["soak-seconds"]);
    const proxy = await startProxy([bad, good]);
    await bad.set({ kind: "refuse" });
    const samples: [number, number][] = [[0, rssMiB(proxy.pid)]];
    const began = Date.now();
    let requests = 0;
    let errors = 0;
    while (Date.now() - began < seconds * 1_000) {
      const outcomes = await load(proxy.url, Math.min(10_000, seconds * 1_000 - (Date.now() - began)), false);
      requests += outcomes.length;
      errors += outcomes.filter((o) => !ok(o)).length;
      samples.push([Math.round((Date.now() - began) / 1000), rssMiB(proxy.pid)]);
    }
    await proxy.stop();
    console.log(`# Soak: bad upstream refusing connections for ${seconds} s, ${concurrency} clients\n`);
    console.log(`requests ${requests}, client errors ${errors}`);
    console.log(
      `RSS MiB at start ${samples[0]?.[1].toFixed(1)}, at end ${samples.at(-1)?.[1].toFixed(1)}, max ${Math.max(...samples.map((s) => s[1])).toFixed(1)}, median ${median(samples.map((s) => s[1])).toFixed(1)}`,
    );
    console.log(samples.map(([t, mib]) => `${t}s:${mib.toFixed(1)}`).join(" "));
    if (errors > 0) failures.push(`soak: ${errors} client errors`);
  } else {
    console.log(
      `# Chaos run — ${phaseMs / 1000} s phases, ${concurrency} clients, request_timeout 1 s, open 2 s, threshold 3, mcp health checks every 0.5 s`,
    );
    await runPhases(
      "Two upstreams: one goes bad, one stays good",
      [
        { name: "healthy", mode: { kind: "ok" }, criterion: "refused" },
        { name: "bad returns 500s", mode: { kind: "fail" }, criterion: "open" },
        { name: "bad refuses connections", mode: { kind: "refuse" }, criterion: "refused" },
        { name: "bad hangs", mode: { kind: "hang" }, criterion: "open" },
        { name: "bad is slow (300 ms)", mode: { kind: "slow", ms: 300 }, criterion: "refused" },
        // a check that passes in an up second closes the circuit, and requests in flight when the
        // upstream next drops its connections are lost: no error is promised while it is not open
        { name: "bad flaps (1 s down, 1 s up)", mode: { kind: "flap", everyMs: 1_000 }, criterion: "open" },
        {
          name: "bad answers 200 with JSON-RPC errors",
          mode: { kind: "jsonrpc-error" },
          criterion: "open",
          mustOpen: true,
        },
        {
          name: "SSE reset mid-stream",
          mode: { kind: "sse-reset" },
          sse: true,
          criterion: "open",
          mustOpen: true,
        },
        { name: "recovery", mode: { kind: "ok" }, criterion: "refused", carriesOn: true },
      ],
      [bad, good],
      bad,
    );
    await runPhases(
      "A single upstream: rejections have nowhere to go",
      // nothing to fail over to: the 503 is the right answer, and what matters is how fast it comes
      [
        { name: "bad returns 500s", mode: { kind: "fail" } },
        { name: "bad hangs", mode: { kind: "hang" } },
        { name: "recovery", mode: { kind: "ok" }, carriesOn: true },
      ],
      [bad],
      bad,
    );
  }
} finally {
  await bad.stop();
  await good.stop();
}
if (failures.length > 0) {
  console.log(`\nFAILED:\n${failures.map((f) => `- ${f}`).join("\n")}`);
  process.exit(1);
}
console.log("\nAll criteria met.");
