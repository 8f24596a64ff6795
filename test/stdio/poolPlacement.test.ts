/**
 * Calls placed on the shared pool of a 2026-07-28 stdio server while its process starts (SPEC §8.3): each
 * placement is counted at once, so they spread and no log-asking calls share a process.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ChildProcessTransport } from "../../src/upstreams/stdio/ChildProcessTransport.ts";
import { ModernExchange } from "../../src/upstreams/stdio/modern/ModernExchange.ts";
import { ModernPool } from "../../src/upstreams/stdio/modern/ModernPool.ts";
import {
  maxListensPerProcess,
  maxPendingPerProcess,
  type PoolProcess,
} from "../../src/upstreams/stdio/modern/PoolProcess.ts";
import { ProcessTable } from "../../src/upstreams/stdio/ProcessTable.ts";
import type { ResponseSink } from "../../src/upstreams/Upstream.ts";
import { until } from "../support/until.ts";
import { envelope, modernServer, post, rig, signalDir, toolCall } from "./stdioRig.ts";

const logServer = fileURLToPath(new URL("../support/logStdioServer.ts", import.meta.url));
const sink: ResponseSink = { start() {}, head() {}, data() {}, end() {}, error() {} };
const logLevel = { "io.modelcontextprotocol/logLevel": "info" };

/** A pool of the modern test server, up to `maxProcesses` processes, used without a proxy. */
function modernPool(maxProcesses: number): ModernPool {
  return new ModernPool({
    upstream: "u",
    table: new ProcessTable(maxProcesses),
    newChild: () =>
      new ChildProcessTransport({ command: [process.execPath, modernServer], cwd: undefined, env: {} }),
    idleTimeoutMs: 60_000,
    probeTimeoutMs: 20_000,
    slotWaitMs: 1_000,
    onEra: () => {},
  });
}

describe("placing calls on the shared pool while its process starts (SPEC §8.3)", () => {
  it("never gives one client's log messages to another when two log-asking calls wait for the same process start", async () => {
    const dir = signalDir();
    const go = join(dir, "go");
    const release = join(dir, "release");
    const { proxy, upstream, stderr } = await rig(["--go", go, "--release", release], {}, logServer);
    // two clients, each its own call asking for log messages (both numbered 1, as SDK clients do)
    const a = post(proxy.url, toolCall(1, "t", { who: "A" }, logLevel));
    const b = post(proxy.url, toolCall(1, "t", { who: "B" }, logLevel));
    await until(() => upstream.inFlight === 2, "both calls wait for the first process");
    writeFileSync(go, "");
    await until(
      () => stderr.filter((line) => line.startsWith("got ")).length === 2,
      "both calls reach a process",
    );
    writeFileSync(release, "");
    const [answerA, answerB] = await Promise.all([a, b]);
    const perProcess = new Map<string, number>();
    for (const line of stderr.filter((l) => l.startsWith("got ") && l.includes("logs=true"))) {
      const pid = line.split("pid=")[1] as string;
      perProcess.set(pid, (perProcess.get(pid) ?? 0) + 1);
    }
    assert.doesNotMatch(answerA.body, /log of B/, "client A was given client B's log message");
    assert.doesNotMatch(answerB.body, /log of A/, "client B was given client A's log message");
    assert.ok(
      [...perProcess.values()].every((n) => n <= 1),
      `at most one log-asking call per process at a time: ${stderr.join(" | ")}`,
    );
  });

  it("never puts more than maxPendingPerProcess calls on one process, however many waited for its start", async (t) => {
    const pool = modernPool(16);
    t.after(() => pool.close("shutdown"));
    const waiting = maxPendingPerProcess + 100;
    const placements = await Promise.all(Array.from({ length: waiting }, () => pool.place(false)));
    const processes = new Set<PoolProcess>();
    placements.forEach((placement, i) => {
      assert.equal(placement.kind, "process");
      if (placement.kind !== "process") return;
      processes.add(placement.process);
      const request = { jsonrpc: "2.0", id: i, method: "tools/list", params: { _meta: envelope } };
      placement.process.call(request, new ModernExchange(sink, () => {}), false);
    });
    const most = Math.max(...[...processes].map((p) => p.calls));
    assert.ok(
      most <= maxPendingPerProcess,
      `${most} calls in flight on one process (${processes.size} processes)`,
    );
  });

  it("keeps room for calls on a process full of standing listens: listens past the per-process bound are refused, calls still placed", async (t) => {
    const pool = modernPool(1);
    t.after(() => pool.close("shutdown"));
    const listens = await Promise.all(
      Array.from({ length: maxPendingPerProcess }, () => pool.place(false, true)),
    );
    const kinds = listens.map((p) => p.kind);
    assert.equal(kinds.filter((k) => k === "process").length, maxListensPerProcess);
    assert.equal(kinds.filter((k) => k === "full").length, maxPendingPerProcess - maxListensPerProcess);
    const call = await pool.place(false);
    assert.equal(call.kind, "process", "a call finds room beside the listens");
  });
});
