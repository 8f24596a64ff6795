/**
 * Memory of request bodies held by the proxy (run by hand: `npm run bench:memory`). Clients send
 * chunked bodies as 1-byte chunks (`1\r\nX\r\n` …) and never finish them: the case where one client
 * could take the proxy's memory when each chunk was kept as a view of its socket buffer. For each
 * chunk size, each target (a process of its own) gets CONNECTIONS such uploads of BODY_BYTES each;
 * its resident memory is read from /proc before, once the proxy has taken every byte, and after the
 * clients have left. `BENCH_BASELINE=/path/to/another/checkout` runs that checkout's Breakwater beside
 * this one, in the same run. Then the answer rows (`answerMemory.ts`): one tool result of 16, 64 and
 * 256 MiB, as a JSON body, an event-stream event and a stdio server's stdout line, read through the
 * proxy while its peak memory is sampled.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/freePort.ts";
import { type AnswerResult, measureAnswer, startBigAnswerUpstream } from "./answerMemory.ts";
import { table } from "./harness.ts";

const BODY_BYTES = Number(process.env["BENCH_BODY_BYTES"] ?? 1 << 20);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 2);
const BASELINE = process.env["BENCH_BASELINE"];
/** The answer rows' sizes, MiB (`BENCH_ANSWER_MIB=16,64`). */
const ANSWER_MIB = (process.env["BENCH_ANSWER_MIB"] ?? "16,64,256").split(",").map(Number);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      }).on("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Writes `frame` until `bodyBytes` body bytes have gone, waiting for the proxy to take each batch. */
async function upload(port: number, chunkSize: number, bodyBytes: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write("POST / HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n");
  const frame = Buffer.from(`${chunkSize.toString(16)}\r\n${"X".repeat(chunkSize)}\r\n`);
  const framesPerBatch = Math.max(1, Math.floor(65_536 / frame.length));
  const batch = Buffer.concat(Array.from({ length: framesPerBatch }, () => frame));
  for (let sent = 0; sent < bodyBytes; sent += framesPerBatch * chunkSize) {
    if (!socket.write(batch)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  return socket;
}

interface Result {
  target: string;
  chunk: number;
  before: number;
  holding: number;
  left: number;
}

async function measure(name: string, cli: string, upstream: string, chunkSize: number): Promise<Result> {
  const [port, admin] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${admin}`, "--upstream", upstream],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  try {
    await waitForPort(port);
    const pid = child.pid as number;
    await sleep(300);
    const before = rssMiB(pid);
    const sockets = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => upload(port, chunkSize, BODY_BYTES)),
    );
    await sleep(500); // the last batches reach the proxy
    const holding = rssMiB(pid);
    for (const socket of sockets) socket.destroy();
    await sleep(1_000);
    return { target: name, chunk: chunkSize, before, holding, left: rssMiB(pid) };
  } finally {
    child.kill();
  }
}

const upstreamPort = await freePort();
const upstreamProcess = spawn(process.execPath, [here("./servers/upstream.ts"), String(upstreamPort)], {
  stdio: ["ignore", "ignore", "inherit"],
});
const targets: [string, string][] = [["breakwater", here("../src/cli.ts")]];
if (BASELINE !== undefined) targets.push(["breakwater (baseline)", join(BASELINE, "src/cli.ts")]);
try {
  await waitForPort(upstreamPort);
  const results: Result[] = [];
  for (const chunk of [1, 65_536]) {
    for (const [name, cli] of targets)
      results.push(await measure(name, cli, `http://127.0.0.1:${upstreamPort}`, chunk));
  }
  const held = BODY_BYTES * CONNECTIONS;
  console.log(
    `# Request-body memory — Node ${process.version}, ${CONNECTIONS} unfinished chunked uploads of ${BODY_BYTES} bytes each\n`,
  );
  console.log(
    table(
      [
        "target",
        "chunk bytes",
        "RSS before MiB",
        "RSS holding MiB",
        "bytes per body byte",
        "RSS after clients left MiB",
      ],
      results.map((r) => [
        r.target,
        r.chunk,
        r.before,
        r.holding,
        ((r.holding - r.before) * 1024 * 1024) / held,
        r.left,
      ]),
    ),
  );
} finally {
  upstreamProcess.kill();
}

const bigAnswers = await startBigAnswerUpstream();
try {
  const answers: AnswerResult[] = [];
  for (const kind of ["json", "sse", "stdio"] as const)
    for (const mib of ANSWER_MIB)
      for (const [name, cli] of targets)
        answers.push(await measureAnswer(name, cli, kind, mib, bigAnswers.port));
  console.log(
    "\n# Answer memory — one tool result through the proxy, the proxy's peak RSS while it passes\n",
  );
  console.log(
    table(
      [
        "target",
        "answer",
        "answer MiB",
        "RSS before MiB",
        "RSS peak MiB",
        "peak growth ÷ answer size",
        "whole answer",
      ],
      answers.map((r) => [
        r.target,
        r.kind,
        r.answerMiB,
        r.beforeMiB,
        r.peakMiB,
        (r.peakMiB - r.beforeMiB) / r.answerMiB,
        r.complete ? "yes" : "no",
      ]),
    ),
  );
} finally {
  bigAnswers.stop();
}
