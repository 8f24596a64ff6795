/**
 * The answer rows of the memory benchmark: how much of an upstream's answer the proxy holds while it
 * passes it on. An upstream answers one tool call with a result of N bytes — as a JSON body, as one
 * event of an event stream, or as one line on a stdio server's stdout — and a client reads it through
 * the proxy as fast as it can; the proxy's resident memory is sampled from /proc all the while. A
 * proxy that reads answers as they stream holds the same few MiB whatever N; one that keeps a whole
 * line or event grows with it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/freePort.ts";

export type AnswerKind = "json" | "sse" | "stdio";

export interface AnswerResult {
  readonly target: string;
  readonly kind: AnswerKind;
  readonly answerMiB: number;
  readonly beforeMiB: number;
  readonly peakMiB: number;
  /** Whether the client got the whole answer. */
  readonly complete: boolean;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const accept = "application/json, text/event-stream";

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

interface Reply {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bytes: number;
}

/** POSTs `body` and reads the whole answer, keeping nothing of it but its length. */
function post(port: number, path: string, body: unknown, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { "content-type": "application/json", accept, ...headers },
        signal: AbortSignal.timeout(60_000),
      },
      (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on("end", () => resolve({ headers: res.headers, bytes }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function waitForProxy(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await post(port, "/", { jsonrpc: "2.0", method: "ping" }, {}).then(
      () => true,
      () => false,
    );
    if (up) return;
    await sleep(50);
  }
  throw new Error(`the proxy on ${port} did not start`);
}

function startProxy(cli: string, port: number, upstream: string): ChildProcess {
  const admin = port + 1;
  const config = join(tmpdir(), `breakwater-answer-memory-${process.pid}-${port}.toml`);
  writeFileSync(
    config,
    `[server]\nlisten = "127.0.0.1:${port}"\nadmin_listen = "127.0.0.1:${admin}"\n` +
      `[proxy]\nanswer_timeout_ms = 30000\n[[upstreams]]\nname = "big"\n${upstream}\n`,
  );
  return spawn(process.execPath, [cli, "--config", config], { stdio: ["ignore", "ignore", "inherit"] });
}

const call = (bytes: number) => ({
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name: "big", arguments: { bytes } },
});

/** One answer of `answerMiB` through the proxy at `cli`, of `kind`; `upstreamPort` serves url kinds. */
export async function measureAnswer(
  target: string,
  cli: string,
  kind: AnswerKind,
  answerMiB: number,
  upstreamPort: number,
): Promise<AnswerResult> {
  let port = await freePort();
  while (port > 65_000) port = await freePort(); // the admin listener takes the next one
  const upstream =
    kind === "stdio"
      ? `command = [${JSON.stringify(process.execPath)}, ${JSON.stringify(here("./servers/bigAnswerStdio.ts"))}]`
      : `url = "http://127.0.0.1:${upstreamPort}"`;
  const child = startProxy(cli, port, upstream);
  const pid = child.pid as number;
  try {
    await waitForProxy(port);
    await sleep(300);
    const beforeMiB = rssMiB(pid);
    let peakMiB = beforeMiB;
    const sampler = setInterval(() => {
      peakMiB = Math.max(peakMiB, rssMiB(pid));
    }, 10);
    const bytes = answerMiB * 1024 * 1024;
    let reply: Reply | undefined;
    try {
      if (kind === "stdio") {
        const init = await post(port, "/", initialize, {});
        const session = String(init.headers["mcp-session-id"]);
        const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
        await post(port, "/", { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
        reply = await post(port, "/", call(bytes), headers);
      } else {
        reply = await post(port, kind === "sse" ? "/?sse" : "/", call(bytes), {});
      }
    } catch {
      reply = undefined; // no whole answer within the bound: reported as incomplete
    } finally {
      clearInterval(sampler);
    }
    return {
      target,
      kind,
      answerMiB,
      beforeMiB,
      peakMiB,
      complete: reply !== undefined && reply.bytes >= bytes,
    };
  } finally {
    child.kill("SIGKILL");
  }
}

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "bench", version: "1.0.0" },
  },
};

/** Starts the url kinds' upstream; resolves with its port and a way to stop it. */
export async function startBigAnswerUpstream(): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const child = spawn(process.execPath, [here("./servers/bigAnswer.ts"), String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", () => reject(new Error("the big-answer upstream exited")));
  });
  return { port, stop: () => child.kill() };
}
