/**
 * A StdioUpstream running the test server (test/support/stdioServer.ts) behind a bare proxy, with its
 * time stepped by hand, and the raw-HTTP steps of an MCP session against it. Everything a rig starts is
 * stopped after the test file.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import {
  Client as Sdk2Client,
  StreamableHTTPClientTransport as Sdk2Transport,
} from "@modelcontextprotocol/client";
import { request } from "undici";
import type { StdioConfig } from "../../src/config/Config.ts";
import { CircuitBreaker } from "../../src/index.ts";
import type { ExitReason } from "../../src/upstreams/stdio/StdioSession.ts";
import { StdioUpstream } from "../../src/upstreams/stdio/StdioUpstream.ts";
import { type BareProxy, startBareProxy } from "../support/bareProxy.ts";
import { ManualClock } from "../support/ManualClock.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

export const server = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
/** The test server of the 2026-07-28 era (SDK 2.x `serveStdio`). */
export const modernServer = fileURLToPath(new URL("../support/modernStdioServer.ts", import.meta.url));
/** Run after the test file, last first. */
export const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

export interface Rig {
  readonly upstream: StdioUpstream;
  readonly proxy: BareProxy;
  readonly timers: ManualTimers;
  readonly dir: string;
  readonly exits: ExitReason[];
  readonly stderr: string[];
  /** Faults told, as "pid fault". */
  readonly faults: string[];
  /** Log lines, each its fields with `level` and `msg`. */
  readonly logs: Record<string, unknown>[];
  /** Pids of every process of the test server started (each writes its pid file on start). */
  pids(): number[];
}

/**
 * A StdioUpstream running the test server (`args` after its path, `--pid-dir` added), behind a bare
 * proxy; `script`: another server to run (default the earlier-era one, {@link server}).
 */
export async function rig(
  args: string[] = [],
  config: Partial<StdioConfig> = {},
  script: string = server,
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-stdio-upstream-"));
  const timers = new ManualTimers();
  const exits: ExitReason[] = [];
  const stderr: string[] = [];
  const faults: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const upstream = new StdioUpstream({
    name: "local",
    circuit: new CircuitBreaker({ name: "local", clock: new ManualClock(), failureThreshold: 100 }),
    config: {
      command: [process.execPath, script, "--pid-dir", dir, ...args],
      cwd: undefined,
      env: {},
      maxProcesses: 16,
      idleTimeoutMs: 1_000,
      ...config,
    },
    timers,
    onExit: (_, reason) => exits.push(reason),
    onStderrLine: (_, line) => stderr.push(line),
    onFault: (pid, fault) => faults.push(`${pid} ${fault}`),
    log: {
      info: (fields, msg) => logs.push({ level: "info", msg, ...fields }),
      warn: (fields, msg) => logs.push({ level: "warn", msg, ...fields }),
    },
  });
  const proxy = await startBareProxy([upstream]);
  const pids = () => readdirSync(dir).map(Number);
  cleanups.push(async () => {
    await proxy.close();
    const closing = upstream.close();
    for (let i = 0; i < 3; i++) await timers.advance(10_000);
    await closing;
    rmSync(dir, { recursive: true, force: true });
  });
  return { upstream, proxy, timers, dir, exits, stderr, faults, logs, pids };
}

export const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
/** The headers of a 2026-07-28 POST. */
export const modernHeaders = { ...headers, "mcp-protocol-version": "2026-07-28" };
/** The `_meta` envelope of a 2026-07-28 request (basic/index, "Per-request protocol fields"). */
export const envelope = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** A 2026-07-28 `tools/call` of `tool`, its `_meta` the envelope and `meta`. */
export function toolCall(
  id: number | string,
  tool: string,
  args: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: tool, arguments: args, _meta: { ...envelope, ...meta } },
  });
}

/** POSTs `body` (as a 2026-07-28 request unless `with_` says otherwise): the status and the whole body. */
export async function post(url: string, body: string, with_: Record<string, string> = modernHeaders) {
  const res = await request(url, { method: "POST", headers: with_, body });
  return { status: res.statusCode, body: await res.body.text() };
}
export const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});

/** Opens a session over raw HTTP: its token, once `initialize` is answered and `initialized` sent. */
export async function openSession(proxy: BareProxy): Promise<string> {
  const res = await request(proxy.url, { method: "POST", headers, body: initialize });
  const body = await res.body.text();
  assert.equal(res.statusCode, 200, body);
  const session = res.headers["mcp-session-id"] as string;
  const sessionHeaders = { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  const note = await request(proxy.url, {
    method: "POST",
    headers: sessionHeaders,
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await note.body.text();
  return session;
}

export function sessionHeaders(session: string) {
  return { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
}

/** Calls `tool` of the session; resolves with the answer's head once it comes, its body read apart. */
export function call(
  proxy: BareProxy,
  session: string,
  tool: string,
  args: Record<string, unknown>,
  id: number | string = 2,
) {
  return request(proxy.url, {
    method: "POST",
    headers: sessionHeaders(session),
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: tool, arguments: args },
    }),
  });
}

/** The one JSON-RPC message of an SSE answer's `data:` lines. */
export function messageOf(sse: string): {
  result?: unknown;
  error?: { code: number; data?: Record<string, unknown> };
} {
  const data = sse
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line.length > 6)
    .map((line) => line.slice(6));
  assert.equal(data.length, 1, `one message in ${sse.slice(0, 300)}`);
  return JSON.parse(data[0] as string);
}

/**
 * An SDK 2.x client over Streamable HTTP to `url`, able to answer elicitations: pinned to 2026-07-28
 * (no `initialize`, no session), or `auto` (probes with `server/discover`, falls back to `initialize`).
 */
export async function sdk2Client(url: string, mode: "auto" | { pin: string } = { pin: "2026-07-28" }) {
  const client = new Sdk2Client(
    { name: "breakwater-era-test", version: "1.0.0" },
    { versionNegotiation: { mode }, capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler("elicitation/create", async () => ({
    action: "accept" as const,
    content: { confirm: true },
  }));
  await client.connect(new Sdk2Transport(new URL(url)));
  cleanups.push(() => client.close());
  return client;
}

/** The first text of a tool result. */
export const textOf = (result: { content?: unknown }) =>
  ((result.content ?? []) as { text?: string }[])[0]?.text;

/** A folder for a test's signal files (a server waits for a file: a signal, not a measure of time), removed after. */
export function signalDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-pool-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** How many `hold` calls of `file` have begun in the modern test server. */
export const begun = (file: string) =>
  existsSync(`${file}.started`) ? readFileSync(`${file}.started`, "utf8").length : 0;
