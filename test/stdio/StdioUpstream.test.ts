import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { CircuitBreaker } from "../../src/index.ts";
import { StdioUpstream } from "../../src/upstreams/stdio/StdioUpstream.ts";
import { startBareProxy } from "../support/bareProxy.ts";
import { ManualClock } from "../support/ManualClock.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { alive } from "../support/processes.ts";
import { until } from "../support/until.ts";
import {
  call,
  cleanups,
  headers,
  initialize,
  messageOf,
  openSession,
  rig,
  server,
  sessionHeaders,
} from "./stdioRig.ts";

describe("StdioUpstream", () => {
  it("answers an initialize the transport would refuse (406, 415) without starting a process", async () => {
    const { proxy, upstream, pids } = await rig();
    const notAcceptable = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, accept: "application/json" },
      body: initialize,
    });
    const unsupported = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, "content-type": "text/plain" },
      body: initialize,
    });
    assert.deepEqual([notAcceptable.statusCode, unsupported.statusCode, upstream.processes], [406, 415, 0]);
    await Promise.all([notAcceptable.body.text(), unsupported.body.text()]);
    await openSession(proxy); // a process started since: any started for the refused ones would be too
    assert.equal(pids().length, 1, "one process: the session's");
    assert.equal(upstream.processes, 1);
  });

  it("holds max_processes for processes still waiting for their initialize answer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-signal-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const go = join(dir, "go");
    const { proxy, upstream, pids } = await rig(["--wait-for", go], { maxProcesses: 2 });
    const statuses: number[] = [];
    const answers = Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await request(proxy.url, { method: "POST", headers, body: initialize });
        statuses.push(res.statusCode);
        await res.body.text();
      }),
    );
    await until(() => statuses.length === 3, "three initializes refused while two processes start");
    assert.deepEqual(statuses, [503, 503, 503]);
    assert.equal(upstream.processes, 2, "the starting processes are counted");
    writeFileSync(go, ""); // the servers answer now
    await answers;
    assert.deepEqual(statuses, [503, 503, 503, 200, 200]);
    assert.equal(pids().length, 2, "no process beyond max_processes was ever started");
    const all = pids();
    await upstream.close();
    assert.deepEqual(all.map(alive), [false, false], "close stops every process it started");
  });

  it("stops the processes of sessions still starting when it closes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-signal-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { proxy, upstream, pids, timers } = await rig(["--wait-for", join(dir, "never")]);
    const pending = request(proxy.url, { method: "POST", headers, body: initialize }).then(
      (res) => res.body.text(),
      () => "",
    );
    await until(() => pids().length === 1, "the process has started");
    assert.equal(upstream.processes, 1);
    const closing = upstream.close();
    await timers.advance(2_000); // the server reads no stdin: SIGTERM
    await closing;
    assert.equal(alive(pids()[0] as number), false);
    assert.equal(upstream.processes, 0);
    await pending;
  });

  it("ends the process of a server that answers initialize with an error, at once", async () => {
    const { proxy, upstream, pids, exits } = await rig(["--refuse-initialize"]);
    const res = await request(proxy.url, { method: "POST", headers, body: initialize });
    const body = await res.body.text();
    const answer = (
      String(res.headers["content-type"]).startsWith("application/json") ? JSON.parse(body) : messageOf(body)
    ) as { id: number; error: { code: number } };
    assert.deepEqual([res.statusCode, answer.id, answer.error.code], [200, 1, -32602]);
    assert.equal(res.headers["mcp-session-id"], undefined, "no session");
    await until(() => upstream.processes === 0, "the process is gone");
    assert.equal(alive(pids()[0] as number), false);
    assert.deepEqual(exits, ["stopped"]);
  });

  it("never idles out a session with a call in flight or an open stream, and ends it once idle", async () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-signal-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { proxy, pids, timers, exits } = await rig();
    const session = await openSession(proxy);
    const pid = pids()[0] as number;
    const held = await call(proxy, session, "hold", { file: join(dir, "release") });
    await timers.advance(5_000);
    assert.ok(alive(pid), "a call in flight: not idle");
    writeFileSync(join(dir, "release"), "");
    assert.deepEqual(messageOf(await held.body.text()).result, {
      content: [{ type: "text", text: "released" }],
    });

    const get = await request(proxy.url, {
      method: "GET",
      headers: { ...sessionHeaders(session), accept: "text/event-stream" },
    });
    assert.equal(get.statusCode, 200);
    await timers.advance(5_000);
    assert.ok(alive(pid), "a standing GET stream: not idle");
    get.body.destroy();
    await until(() => timers.pending === 1, "the stream is over: the idle time starts");
    await timers.advance(999);
    assert.ok(alive(pid), "idle less than idle_timeout_secs");
    await timers.advance(1);
    await until(() => exits.length === 1, "the idle session's process stops");
    assert.deepEqual([exits, alive(pid)], [["stopped"], false]);
  });

  for (const [how, stopped] of [
    ["DELETE", "deleted"],
    ["shutdown", "shutdown"],
  ] as const) {
    it(`answers a call pending when the session ends by ${how} with upstream_exited (stopped: ${stopped})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "breakwater-signal-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const { proxy, upstream, timers } = await rig();
      const session = await openSession(proxy);
      const held = await call(proxy, session, "hold", { file: join(dir, "never") }, 5);
      const answer = held.body.text();
      if (how === "DELETE") {
        const del = await request(proxy.url, { method: "DELETE", headers: sessionHeaders(session) });
        assert.equal(del.statusCode, 200);
        await del.body.text();
      } else {
        const closing = upstream.close();
        await timers.advance(2_000);
        await closing;
      }
      const message = messageOf(await answer) as { id?: number; error?: { code: number; data?: object } };
      assert.deepEqual(
        [message.id, message.error?.code, message.error?.data],
        [5, -32603, { reason: "upstream_exited", upstream: "local", stopped }],
      );
    });
  }

  it("answers a call whose result is over the line limit with message_too_large, and ends the session", async () => {
    const { proxy, upstream, pids, faults } = await rig();
    const session = await openSession(proxy);
    const res = await call(proxy, session, "big", { mib: 70 });
    const message = messageOf(await res.body.text());
    assert.deepEqual(
      [message.error?.code, message.error?.data],
      [-32603, { reason: "message_too_large", upstream: "local" }],
    );
    await until(() => upstream.processes === 0, "the session's process is stopped");
    assert.equal(alive(pids()[0] as number), false);
    assert.deepEqual(faults, [`${pids()[0]} message_too_large`], "told (the proxy logs it)");
  });

  it("stops the helpers a server started (its process group) on DELETE and on close", async () => {
    const script = `sleep 1000 & echo "helper $!" >&2; exec "$0" "$@"`;
    const dir = mkdtempSync(join(tmpdir(), "breakwater-upstream-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stderr: string[] = [];
    const timers = new ManualTimers();
    const upstream = new StdioUpstream({
      name: "local",
      circuit: new CircuitBreaker({ name: "local", clock: new ManualClock(), failureThreshold: 100 }),
      config: {
        command: ["sh", "-c", script, process.execPath, server],
        cwd: undefined,
        env: {},
        maxProcesses: 4,
        idleTimeoutMs: 60_000,
      },
      timers,
      onStderrLine: (_, line) => stderr.push(line),
    });
    const proxy = await startBareProxy([upstream]);
    cleanups.push(() => proxy.close());
    const helpers = () =>
      stderr.filter((line) => line.startsWith("helper ")).map((line) => Number(line.slice("helper ".length)));
    const first = await openSession(proxy);
    await until(() => helpers().length === 1, "the first helper's pid");
    const del = await request(proxy.url, { method: "DELETE", headers: sessionHeaders(first) });
    await del.body.text();
    await until(() => !alive(helpers()[0] as number), "the helper is gone after DELETE");
    await openSession(proxy);
    await until(() => helpers().length === 2, "the second helper's pid");
    await upstream.close();
    await until(() => !alive(helpers()[1] as number), "the helper is gone after close");
  });
});
