/**
 * The shared pool of a 2026-07-28 stdio server recovers (SPEC §5, §8.3): a crash during the era probe, a process that closes its stdout, an idle pool process at max_processes, an open circuit.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { stdoutClosedGraceMs } from "../../src/upstreams/stdio/ChildProcessTransport.ts";
import type { ManualTimers } from "../support/ManualTimers.ts";
import { until } from "../support/until.ts";
import {
  cleanups,
  envelope,
  headers,
  initialize,
  modernHeaders,
  modernServer,
  post,
  rig,
  toolCall,
} from "./stdioRig.ts";

const flakyServer = fileURLToPath(new URL("./flakyModernServer.ts", import.meta.url));
/**
 * Steps time by the grace a process that closed its stdout has to exit, until `condition` holds: the
 * proxy sees the end of the pipe a moment after the child's stderr says it closed it.
 */
async function stepUntil(timers: ManualTimers, condition: () => boolean, what: string): Promise<void> {
  for (let round = 0; round < 200 && !condition(); round++) {
    await timers.advance(stdoutClosedGraceMs);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(condition(), `timed out waiting for ${what}`);
}

function signalDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-review20-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("the shared pool of a 2026-07-28 stdio server", () => {
  it("starts a fresh process on the next request after a modern server's process exited during its probe, instead of taking the server for the earlier era for good", async () => {
    const marker = join(signalDir(), "crashed-once");
    const { proxy, upstream, pids } = await rig(["--marker", marker], {}, flakyServer);
    const first = await post(proxy.url, toolCall(1, "echo", { text: "one" }));
    assert.equal(upstream.era, undefined, "an exit during the probe tells nothing of the era");
    assert.equal(first.status, 502, `a crash is a failure: ${first.body}`);
    // the server is fine now: the next request should start a fresh process (SPEC §8.3)
    const second = await post(proxy.url, toolCall(2, "echo", { text: "two" }));
    assert.equal(pids().length, 1, "a fresh process was started for the next request");
    assert.equal(second.status, 200, `the next request is served: ${second.status} ${second.body}`);
    assert.match(second.body, /"two"/);
  });

  it("ends an idle pool process to make room for an earlier-era session at max_processes, rather than 503 (SPEC §5)", async () => {
    const { proxy, upstream } = await rig([], { maxProcesses: 1 }, modernServer);
    const modern = await post(proxy.url, toolCall(1, "echo", { text: "hi" }));
    assert.equal(modern.status, 200);
    assert.deepEqual(upstream.processSlots, { live: 1, busy: 0, limit: 1 }, "the pool process is idle");
    const session = await post(proxy.url, initialize, headers);
    assert.equal(
      session.status,
      200,
      `an earlier-era client's initialize: ${session.status} ${session.body}`,
    );
  });
});

describe("a pool process that closes its stdout", () => {
  it("answers the call pending on it with upstream_exited (SPEC §5: a process that exits or closes stdout), never a hang", async () => {
    const mute = fileURLToPath(new URL("./muteServer.ts", import.meta.url));
    const { proxy, stderr, timers } = await rig([], {}, mute);
    let answer: { status: number; body: string } | undefined;
    void post(proxy.url, toolCall(1, "any", {}))
      .then((a) => {
        answer = a;
      })
      .catch(() => {}); // cut when the rig closes
    await until(() => stderr.includes("stdout closed"), "the process closed its stdout");
    await stepUntil(timers, () => answer !== undefined, "the pending call is answered");
    assert.match(answer?.body ?? "", /upstream_exited/);
  });
});

describe("learning the era of a stdio server", () => {
  it("starts no process of a stdio upstream whose circuit is open when a sessionless call asks which upstreams serve sessions only (SPEC §5: while it is open no process is spawned)", async () => {
    const { upstream } = await rig([], {}, modernServer);
    upstream.circuit.forceOpen();
    // what McpCalls reads (sessionsOnly(...).size) for every sessionless call on a route with a stdio upstream
    assert.equal(upstream.servesSessionless, false);
    assert.equal(upstream.processes, 0, "a process was spawned for an upstream whose circuit is open");
  });
});

describe("a listen standing on a pool process that closes its stdout", () => {
  it("ends the listen stream with upstream_exited once the process can no longer write, instead of keeping it open for good", async () => {
    const mute = fileURLToPath(new URL("./muteServer.ts", import.meta.url));
    const { proxy, stderr, timers } = await rig([], {}, mute);
    const res = await request(proxy.url, {
      method: "POST",
      headers: modernHeaders,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: "listen:1",
        method: "subscriptions/listen",
        params: { notifications: { toolsListChanged: true }, _meta: envelope },
      }),
    });
    let text = "";
    let ended = false;
    res.body.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    res.body.on("end", () => {
      ended = true;
    });
    res.body.on("error", () => {});
    await until(() => text.includes("acknowledged"), "the listen is acknowledged");
    await until(() => stderr.includes("stdout closed"), "the process closed its stdout");
    await stepUntil(timers, () => ended, "the listen stream ends");
    assert.match(text, /upstream_exited/);
  });
});

describe("a session's process that closes its stdout (earlier era)", () => {
  it("answers the session's pending call with upstream_exited once the process can no longer answer, and ends the session", async () => {
    const { proxy, stderr, timers, faults } = await rig();
    const opened = await request(proxy.url, { method: "POST", headers, body: initialize });
    await opened.body.text();
    const session = opened.headers["mcp-session-id"] as string;
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "mute", arguments: {} },
    });
    let answer: { status: number; body: string } | undefined;
    void post(proxy.url, call, {
      ...headers,
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
    })
      .then((a) => {
        answer = a;
      })
      .catch(() => {});
    await until(() => stderr.includes("stdout closed"), "the process closed its stdout");
    await stepUntil(timers, () => answer !== undefined, "the pending call is answered");
    assert.match(answer?.body ?? "", /upstream_exited/);
    assert.equal(faults.length, 1, `the fault is told once: ${faults.join()}`);
    assert.match(faults[0] ?? "", /stdout_closed/);
  });
});

describe("a 2026-07-28 request with an id MCP does not allow", () => {
  it("answers 400 -32600 for an id that is null, a fraction or past 2^53, instead of taking it for a notification the client waits on for good", async () => {
    const { proxy, upstream } = await rig([], {}, modernServer);
    for (const id of ["null", "1.5", "1e400"]) {
      const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/list","params":{"_meta":${JSON.stringify(envelope)}}}`;
      const answer = await post(proxy.url, body);
      assert.equal(answer.status, 400, `id ${id}: ${answer.body}`);
      assert.equal(JSON.parse(answer.body).error.code, -32600);
    }
    const notification = JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/initialized",
      params: { _meta: envelope },
    });
    assert.equal(
      (await post(proxy.url, notification)).status,
      202,
      "a message without an id is a notification",
    );
    assert.equal(upstream.inFlight, 0);
  });
});
