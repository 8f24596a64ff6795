import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { alive } from "../support/processes.ts";
import { until } from "../support/until.ts";
import {
  begun,
  envelope,
  modernHeaders,
  modernServer,
  rig,
  sdk2Client,
  signalDir,
  toolCall,
} from "./stdioRig.ts";

/** A 2026-07-28 `tools/call` of `tool`, the id and extra `_meta` as given. */
/** The JSON-RPC messages of an answer: the JSON body, or each `data:` of the event stream. */
/** A JSON-RPC message of an answer, as far as these tests read it. */
interface Message {
  readonly id?: number | string;
  readonly method?: string;
  readonly params?: {
    progressToken?: unknown;
    progress?: number;
    data?: unknown;
    _meta?: Record<string, unknown>;
  };
  readonly result?: { content: { text: string }[] };
  readonly error?: { code: number; data?: Record<string, unknown> };
}

function messagesOf(contentType: string | undefined, body: string): Message[] {
  if (contentType?.startsWith("application/json")) return [JSON.parse(body)];
  return body
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)));
}

async function post(url: string, body: string, signal?: AbortSignal) {
  const res = await request(url, {
    method: "POST",
    headers: modernHeaders,
    body,
    ...(signal ? { signal } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    type: res.headers["content-type"] as string,
    messages: messagesOf(res.headers["content-type"] as string, text),
  };
}

describe("the shared pool of a 2026-07-28 stdio server (SPEC §8.3)", () => {
  it("gives 10 concurrent clients with the same JSON-RPC id and progress token on one process exactly their own messages", async () => {
    const { proxy, pids } = await rig([], { maxProcesses: 1 }, modernServer);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post(proxy.url, toolCall(7, "slow", { steps: i + 1 }, { progressToken: "tok" })),
      ),
    );
    answers.forEach((answer, i) => {
      const steps = i + 1;
      assert.equal(answer.status, 200);
      const progress = answer.messages.filter((m) => m.method === "notifications/progress");
      assert.deepEqual(
        progress.map((m) => [m.params?.progressToken, m.params?.progress]),
        Array.from({ length: steps }, (_, s) => ["tok", s + 1]),
        `client ${i}: its own ${steps} progress notifications, with its own token`,
      );
      const final = answer.messages.at(-1);
      assert.equal(final?.id, 7, "its own id");
      assert.equal(final?.result?.content[0]?.text, `${steps} steps`);
      assert.equal(answer.messages.length, steps + 1, "nothing of any other client's");
    });
    assert.equal(pids().length, 1, "one process served them all");
  });

  it("answers with one JSON body when nothing comes before the answer, and a 404 for a method the server lacks", async () => {
    const { proxy } = await rig([], {}, modernServer);
    const echo = await post(proxy.url, toolCall(1, "echo", { text: "plain" }));
    assert.equal(echo.type, "application/json");
    assert.equal(echo.messages[0]?.result?.content[0]?.text, "plain");
    const missing = await post(
      proxy.url,
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "prompts/list", params: { _meta: envelope } }),
    );
    assert.deepEqual([missing.status, missing.messages[0]?.error?.code], [404, -32601]);
  });

  it("answers each call pending on a process that dies with upstream_exited, and serves the next on a fresh process", async () => {
    const dir = signalDir();
    const { proxy, pids, exits } = await rig([], {}, modernServer);
    const first = await post(proxy.url, toolCall(1, "pid", {}));
    const pid = Number(first.messages[0]?.result?.content[0]?.text);
    const never = join(dir, "never");
    const held = Array.from({ length: 3 }, (_, i) => post(proxy.url, toolCall(i, "hold", { file: never })));
    await until(() => begun(never) === 3, "the calls are with the process");
    assert.equal(pids().length, 1);
    process.kill(pid, "SIGKILL");
    const answers = await Promise.all(held);
    answers.forEach((answer, i) => {
      const error = answer.messages.at(-1)?.error;
      assert.equal(answer.messages.at(-1)?.id, i, "each with its own id");
      assert.deepEqual(
        [error?.code, error?.data?.["reason"], error?.data?.["signal"]],
        [-32603, "upstream_exited", "SIGKILL"],
      );
    });
    assert.deepEqual(exits, ["crashed"]);
    const next = await post(proxy.url, toolCall(9, "pid", {}));
    const fresh = Number(next.messages[0]?.result?.content[0]?.text);
    assert.notEqual(fresh, pid, "a fresh process");
    assert.equal(alive(fresh), true);
  });

  it("tells the process notifications/cancelled when a client closes its response stream", async () => {
    const dir = signalDir();
    const file = join(dir, "release");
    const { proxy } = await rig([], {}, modernServer);
    await post(proxy.url, toolCall(1, "echo", { text: "warm" })); // a process is up
    const abort = new AbortController();
    const held = post(proxy.url, toolCall(1, "hold", { file }), abort.signal).catch(() => "aborted");
    await until(() => begun(file) === 1, "the call is with the process");
    abort.abort();
    assert.equal(await held, "aborted");
    await until(() => existsSync(`${file}.cancelled`), "the tool sees its call cancelled");
    writeFileSync(file, "");
    const after = await post(proxy.url, toolCall(1, "echo", { text: "still" }));
    assert.equal(after.messages[0]?.result?.content[0]?.text, "still", "the same id serves another call");
  });

  it("starts another process only when each has 16 calls in flight, standing listens not counted", async () => {
    const file = join(signalDir(), "release");
    const { proxy, pids } = await rig([], { maxProcesses: 4 }, modernServer);
    // connected one after another: 20 calls at once (their server/discover) would rightly take a second process
    const listens = [];
    for (let i = 0; i < 20; i++) listens.push(await sdk2Client(proxy.url));
    await Promise.all(listens.map((client) => client.listen({ toolsListChanged: true })));
    assert.equal(pids().length, 1, "20 listens on one process");
    const held = Array.from({ length: 17 }, (_, i) => post(proxy.url, toolCall(i, "hold", { file })));
    await until(() => begun(file) === 17, "every call is with a process");
    assert.equal(pids().length, 2, "the 17th call started a second process");
    writeFileSync(file, "");
    await Promise.all(held);
  });
});
