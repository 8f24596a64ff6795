import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { refusalLogIntervalMs } from "../../src/upstreams/stdio/StdioUpstream.ts";
import { alive } from "../support/processes.ts";
import { until } from "../support/until.ts";
import {
  call,
  cleanups,
  headers,
  initialize,
  messageOf,
  openSession,
  type Rig,
  rig,
  server,
  sessionHeaders,
} from "./stdioRig.ts";

/** The test server's pid for `session`, by its `pid` tool. */
async function pidOf(rigged: Rig, session: string): Promise<number> {
  const res = await call(rigged.proxy, session, "pid", {}, 3);
  const text = (messageOf(await res.body.text()).result as { content: { text: string }[] }).content[0]?.text;
  return Number(text);
}

/** A folder for the files that release `hold` calls; removed after the test file. */
function signalDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-slots-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("stdio process slots at max_processes", () => {
  it("ends the least recently used idle session to make room for a new initialize, never above the limit", async () => {
    const rigged = await rig([], { maxProcesses: 2, idleTimeoutMs: 600_000 });
    const { proxy, upstream, timers, logs, exits } = rigged;
    const older = await openSession(proxy);
    await timers.advance(1_000);
    const newer = await openSession(proxy);
    const [olderPid, newerPid] = [await pidOf(rigged, older), await pidOf(rigged, newer)];
    await timers.advance(1_000);
    await pidOf(rigged, older); // used last: the newer session is now the least recently used
    await timers.advance(3_000);

    let most = upstream.processes;
    const watch = setInterval(() => {
      most = Math.max(most, upstream.processes);
    }, 1);
    const third = await request(proxy.url, { method: "POST", headers, body: initialize });
    await third.body.text();
    clearInterval(watch);

    assert.equal(third.statusCode, 200, "the new session got the evicted one's slot");
    assert.ok(third.headers["mcp-session-id"], "and its session");
    assert.deepEqual([alive(newerPid), alive(olderPid)], [false, true], "the least recently used went");
    assert.deepEqual(exits, ["stopped"]);
    assert.ok(most <= 2, `never more than max_processes live (saw ${most})`);
    assert.equal(upstream.processes, 2);
    const evicted = logs.filter(
      (line) => line["msg"] === "stdio session ended to make room: max_processes reached",
    );
    assert.deepEqual(
      evicted.map((line) => [line["level"], line["upstream"], line["pid"], line["idle_secs"]]),
      [["info", "local", newerPid, 4]],
    );
    assert.equal(typeof evicted[0]?.["session"], "string", "names the session");

    const gone = await call(proxy, newer, "echo", { text: "hi" }, "call-7");
    assert.equal(gone.statusCode, 404, "the evicted session is gone: its client re-initializes");
    assert.deepEqual(await gone.body.json(), {
      jsonrpc: "2.0",
      id: "call-7",
      error: {
        code: -32001,
        message: "Session not found",
        data: { reason: "unknown_session", upstream: "local" },
      },
    });
    assert.equal(await pidOf(rigged, older), olderPid, "the other session lives on");
  });

  it("answers 503 overloaded when every process is busy, logged once per interval with the rest counted", async () => {
    const dir = signalDir();
    const rigged = await rig([], { maxProcesses: 2, idleTimeoutMs: 600_000 });
    const { proxy, upstream, timers, logs } = rigged;
    const held = [];
    for (const [i, session] of [await openSession(proxy), await openSession(proxy)].entries())
      held.push(await call(proxy, session, "hold", { file: join(dir, "release") }, 10 + i));
    assert.deepEqual(upstream.processSlots, { live: 2, busy: 2, limit: 2 });

    const refusals = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(proxy.url, { method: "POST", headers, body: initialize });
      const answer = (await res.body.json()) as { error: { data: { reason: string } } };
      refusals.push([res.statusCode, answer.error.data.reason]);
    }
    assert.deepEqual(refusals, Array(3).fill([503, "overloaded"]));
    assert.equal(proxy.settled.filter((report) => report.overloaded).length, 3, "each counted overloaded");
    const full = () =>
      logs.filter(
        (line) => line["msg"] === "stdio upstream full: max_processes reached, answered 503 overloaded",
      );
    assert.deepEqual(
      full().map((line) => [
        line["level"],
        line["upstream"],
        line["max_processes"],
        line["busy"],
        line["suppressed"],
      ]),
      [["warn", "local", 2, 2, 0]],
      "one line for the first refusal of the interval",
    );
    await timers.advance(refusalLogIntervalMs);
    assert.deepEqual(
      full().map((line) => line["suppressed"]),
      [0, 2],
      "the interval's end counts the refusals not logged",
    );
    await timers.advance(refusalLogIntervalMs);
    assert.equal(full().length, 2, "a quiet interval logs nothing");
    assert.equal(upstream.processes, 2, "no process was started or ended for the refusals");

    writeFileSync(join(dir, "release"), "");
    for (const res of held) await res.body.text();
  });

  it("gives a new session the slot of a process still stopping, rather than ending another session", async () => {
    // the server under `sh`, which lingers after it (as a server slow to exit would) until SIGTERM,
    // sent 2 s (of the rig's time) after stdin is closed
    const linger = `"$0" "$@"; exec sleep 1000`;
    const rigged = await rig([], {
      maxProcesses: 2,
      idleTimeoutMs: 600_000,
      command: ["sh", "-c", linger, process.execPath, server],
    });
    const { proxy, upstream, timers, exits } = rigged;
    const deleted = await openSession(proxy);
    const kept = await openSession(proxy);
    const [deletedPid, keptPid] = [await pidOf(rigged, deleted), await pidOf(rigged, kept)];
    const del = await request(proxy.url, { method: "DELETE", headers: sessionHeaders(deleted) });
    await del.body.text();
    await until(() => !alive(deletedPid), "the deleted session's server exits; its `sh` lingers");
    assert.equal(upstream.processes, 2, "a stopping process holds its slot until it has exited");

    let status: number | undefined;
    const third = request(proxy.url, { method: "POST", headers, body: initialize }).then(async (res) => {
      status = res.statusCode;
      await res.body.text();
    });
    await until(() => upstream.inFlight === 1, "the initialize reached the upstream");
    await timers.advance(1_999);
    assert.deepEqual([status, upstream.processes], [undefined, 2], "it waits; nothing beyond the limit");
    assert.ok(alive(keptPid), "the idle session is not ended while a slot is coming free");
    await timers.advance(1); // SIGTERM: the lingering process exits, and hands its slot on
    await third;
    assert.equal(status, 200);
    assert.deepEqual([exits, alive(keptPid), upstream.processes], [["stopped"], true, 2]);
  });

  it("logs an idle session's end once, with its idle time", async () => {
    const { proxy, timers, logs, exits } = await rig([], { idleTimeoutMs: 5_000 });
    await openSession(proxy);
    await timers.advance(5_000);
    await until(() => exits.length === 1, "the idle session's process stops");
    await timers.advance(60_000);
    const idle = logs.filter((line) => line["msg"] === "stdio session ended: idle");
    assert.deepEqual(
      idle.map((line) => [line["level"], line["upstream"], line["idle_secs"], typeof line["session"]]),
      [["info", "local", 5, "string"]],
    );
  });

  it("answers 404 for a session that is gone in the shape of the proxy's 404s: ids echoed, data.reason", async () => {
    const { proxy } = await rig();
    const session = await openSession(proxy);
    const del = await request(proxy.url, { method: "DELETE", headers: sessionHeaders(session) });
    await del.body.text();
    const error = {
      code: -32001,
      message: "Session not found",
      data: { reason: "unknown_session", upstream: "local" },
    };
    const one = await request(proxy.url, {
      method: "POST",
      headers: sessionHeaders(session),
      body: '{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/list"}',
    });
    assert.equal(one.statusCode, 404);
    assert.equal(
      await one.body.text(),
      `{"jsonrpc":"2.0","id":12345678901234567890,"error":${JSON.stringify(error)}}`,
      "the id as the client wrote it",
    );
    const batch = await request(proxy.url, {
      method: "POST",
      headers: sessionHeaders(session),
      body: JSON.stringify([
        { jsonrpc: "2.0", id: "a", method: "tools/list" },
        { jsonrpc: "2.0", id: 2, method: "ping" },
      ]),
    });
    assert.equal(batch.statusCode, 404);
    assert.deepEqual(await batch.body.json(), [
      { jsonrpc: "2.0", id: "a", error },
      { jsonrpc: "2.0", id: 2, error },
    ]);
    const get = await request(proxy.url, {
      method: "GET",
      headers: { ...sessionHeaders(session), accept: "text/event-stream" },
    });
    assert.equal(get.statusCode, 404);
    assert.deepEqual(await get.body.json(), {
      error: "Session not found: start a new session",
      reason: "unknown_session",
      upstream: "local",
    });
  });
});
