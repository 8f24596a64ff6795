import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { alive } from "../support/processes.ts";
import { until } from "../support/until.ts";
import { begun, modernHeaders, modernServer, rig, sdk2Client, signalDir, toolCall } from "./stdioRig.ts";

/** The text of each `data:` (or the JSON body) of an answer. */
async function post(url: string, body: string): Promise<string[]> {
  const res = await request(url, { method: "POST", headers: modernHeaders, body });
  const text = await res.body.text();
  if (String(res.headers["content-type"]).startsWith("application/json")) return [text];
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice(6));
}

describe("the life of a pool process (SPEC §8.3)", () => {
  it("stops an idle pool process after idle_timeout_secs, never one with a call in flight or a listen standing", async () => {
    const file = join(signalDir(), "release");
    const { proxy, upstream, pids, timers, exits, logs } = await rig(
      [],
      { idleTimeoutMs: 1_000 },
      modernServer,
    );
    const held = post(proxy.url, toolCall(1, "hold", { file }));
    await until(() => begun(file) === 1, "the call is with the process");
    const [pid] = pids() as [number];
    await timers.advance(5_000);
    assert.equal(alive(pid), true, "a call in flight: not idle");
    assert.deepEqual(upstream.processSlots, { live: 1, busy: 1, limit: 16 }, "busy in /health");
    writeFileSync(file, "");
    assert.match((await held)[0] as string, /released/);
    assert.deepEqual(upstream.processSlots, { live: 1, busy: 0, limit: 16 }, "idle in /health");

    const client = await sdk2Client(proxy.url);
    const subscription = await client.listen({ toolsListChanged: true });
    await timers.advance(5_000);
    assert.equal(alive(pid), true, "a listen standing: not idle");
    await subscription.close();
    await until(() => upstream.inFlight === 0, "the listen's end reaches the pool");
    await timers.advance(999);
    assert.equal(alive(pid), true, "not idle long enough yet");
    await timers.advance(1);
    await until(() => exits.length === 1, "the idle process stopped");
    assert.deepEqual(exits, ["stopped"]);
    assert.equal(alive(pid), false);
    assert.ok(logs.some((line) => line["msg"] === "stdio pool process stopped: idle" && line["pid"] === pid));
  });

  it("answers a call pending at shutdown with upstream_exited naming shutdown, never an empty stream", async () => {
    const file = join(signalDir(), "never");
    const { proxy, upstream, timers } = await rig([], {}, modernServer);
    const held = post(proxy.url, toolCall(4, "hold", { file }));
    await until(() => begun(file) === 1, "the call is with the process");
    const closing = upstream.close();
    const answer = JSON.parse((await held)[0] as string) as {
      id: number;
      error: { code: number; data: Record<string, unknown> };
    };
    assert.deepEqual(
      [answer.id, answer.error.code, answer.error.data["reason"], answer.error.data["stopped"]],
      [4, -32603, "upstream_exited", "shutdown"],
    );
    for (let i = 0; i < 3; i++) await timers.advance(10_000);
    await closing;
  });

  it("gives a call that asks for log messages a process with no other such call, else sends it without its log level", async () => {
    const file = join(signalDir(), "release");
    const logLevel = { "io.modelcontextprotocol/logLevel": "info" };
    const two = await rig([], { maxProcesses: 2 }, modernServer);
    const holding = post(two.proxy.url, toolCall(1, "hold", { file }, logLevel));
    await until(() => begun(file) === 1, "a call asking for logs is in flight");
    const logged = await post(two.proxy.url, toolCall(2, "log", { note: "mine" }, logLevel));
    assert.equal(logged.length, 2, "its log message, then its answer");
    assert.match(logged[0] as string, /"method":"notifications\/message".*log: mine/);
    assert.equal(two.pids().length, 2, "on a process of its own");
    writeFileSync(file, "");
    await holding;

    const other = join(signalDir(), "release");
    const one = await rig([], { maxProcesses: 1 }, modernServer);
    const holdingOne = post(one.proxy.url, toolCall(1, "hold", { file: other }, logLevel));
    await until(() => begun(other) === 1, "a call asking for logs is in flight");
    const unlogged = await post(one.proxy.url, toolCall(2, "log", { note: "lost" }, logLevel));
    assert.equal(unlogged.length, 1, "no room for another process: no log message, never another's");
    assert.match(unlogged[0] as string, /"text":"lost"/);
    writeFileSync(other, "");
    assert.equal((await holdingOne).length, 1, "nor did the other call get it");
  });
});
