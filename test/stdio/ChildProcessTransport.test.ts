import assert from "node:assert/strict";
import { describe, it } from "node:test";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import {
  type ChildFault,
  ChildProcessTransport,
  maxStderrLineBytes,
  maxStdinBacklogBytes,
} from "../../src/upstreams/stdio/ChildProcessTransport.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { alive } from "../support/processes.ts";
import { until } from "../support/until.ts";

/** A child that ignores its stdin closing and SIGTERM: only SIGKILL stops it. */
const stubborn = `process.on("SIGTERM", () => process.stderr.write("ignoring SIGTERM\\n")); process.stderr.write("ready\\n"); setInterval(() => {}, 1000);`;
/** A child that exits once its stdin is closed. */
const polite = `process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`;
/** A child that never reads its stdin. */
const deaf = `process.stderr.write("ready\\n"); setInterval(() => {}, 1000);`;

const stopAfterMs = { term: 2_000, kill: 5_000 };

function child(source: string, lines: string[] = [], timers = new ManualTimers()) {
  return new ChildProcessTransport({
    command: [process.execPath, "-e", source],
    cwd: undefined,
    env: {},
    onStderrLine: (line) => lines.push(line),
    stopAfterMs,
    timers,
  });
}

/** Bytes the proxy's heap and buffers hold once garbage is collected. */
function retainedBytes(): number {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const ping: JSONRPCMessage = { jsonrpc: "2.0", id: 1, method: "ping" };

describe("ChildProcessTransport", () => {
  it("stops a child in steps: stdin closed, then SIGTERM, then SIGKILL", async () => {
    const lines: string[] = [];
    const timers = new ManualTimers();
    const transport = child(stubborn, lines, timers);
    await transport.start();
    await until(() => lines.includes("ready"), "the child has set its SIGTERM handler");
    const closed = transport.close();
    await timers.advance(stopAfterMs.term);
    await until(() => lines.includes("ignoring SIGTERM"), "SIGTERM reaches the child");
    assert.equal(transport.exit, undefined, "SIGTERM ignored: the child runs on");
    await timers.advance(stopAfterMs.kill);
    await closed;
    assert.deepEqual(transport.exit, { code: null, signal: "SIGKILL" });
  });

  it("lets a child that exits when its stdin closes go without a signal", async () => {
    const timers = new ManualTimers();
    const transport = child(polite, [], timers);
    await transport.start();
    await transport.close(); // time never moves: no signal can be sent
    assert.deepEqual(transport.exit, { code: 0, signal: null });
  });

  it("rejects start for a program that does not exist", async () => {
    const transport = new ChildProcessTransport({
      command: ["/nonexistent/program"],
      cwd: undefined,
      env: {},
    });
    await assert.rejects(transport.start(), /ENOENT/);
  });

  it("stops the helpers a child started with it (its process group), on close and when it exits", async () => {
    for (const how of ["close", "exit"] as const) {
      const lines: string[] = [];
      const script = `sleep 1000 & echo "helper $!" >&2; exec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(polite)}`;
      const transport = new ChildProcessTransport({
        command: ["sh", "-c", script],
        cwd: undefined,
        env: { PATH: process.env["PATH"] ?? "" },
        onStderrLine: (line) => lines.push(line),
        timers: new ManualTimers(),
      });
      await transport.start();
      await until(() => lines.some((line) => line.startsWith("helper ")), "the helper's pid");
      const helper = Number(lines.find((line) => line.startsWith("helper "))?.slice("helper ".length));
      assert.ok(alive(helper));
      if (how === "close") await transport.close();
      else process.kill(transport.pid as number, "SIGTERM"); // the child ends on its own
      await until(() => !alive(helper), `the helper is gone after the child's ${how}`);
      await until(() => transport.exit !== undefined, "the child has exited");
    }
  });

  it("cuts a stderr line at 8 KiB and marks the cut, however long the line", async () => {
    const lines: string[] = [];
    const transport = child(`process.stderr.write("e".repeat(3 * 1024 * 1024) + "\\nnext\\n");`, lines);
    await transport.start();
    await until(() => lines.length === 2, "both lines");
    assert.equal(
      lines[0],
      `${"e".repeat(maxStderrLineBytes)}…[cut ${3 * 1024 * 1024 - maxStderrLineBytes} bytes]`,
    );
    assert.equal(lines[1], "next");
    await transport.close();
  });

  it("throws away a stdout line past the limit as it streams, tells it as a fault, and reads the next line", async () => {
    // 70 MiB without a newline, in 1 MiB writes, then a word on stderr; on a line on stdin, the newline
    // and a message
    const source = `const mib = "x".repeat(1024 * 1024); let left = 70;
      const more = () => { while (left > 0) { left--; if (!process.stdout.write(mib)) return process.stdout.once("drain", more); }
        process.stdout.write("", () => process.stderr.write("written\\n")); };
      more();
      process.stdin.once("data", () => process.stdout.write("\\n" + JSON.stringify({ jsonrpc: "2.0", id: 7, result: {} }) + "\\n"));`;
    const lines: string[] = [];
    const faults: ChildFault[] = [];
    const messages: JSONRPCMessage[] = [];
    const transport = child(source, lines);
    transport.onfault = (fault) => faults.push(fault);
    transport.onmessage = (message) => messages.push(message);
    const before = retainedBytes();
    await transport.start();
    try {
      await until(() => lines.includes("written"), "70 MiB written, and read by the proxy");
      // V8 frees the backing stores of collected buffers on a sweeper thread, a moment after the
      // collection: wait (bounded) for memory to come back, which it never does if the proxy holds it
      let grown = retainedBytes() - before;
      for (let i = 0; i < 100 && grown >= 30 * 1024 * 1024; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        grown = retainedBytes() - before;
      }
      assert.ok(grown < 30 * 1024 * 1024, `the proxy holds ${grown} bytes more after a 70 MiB line`);
      assert.deepEqual(faults, ["message_too_large"], "told as soon as the line passed the limit");
      await transport.send(ping);
      await until(() => messages.length === 1, "the message after the long line");
      assert.deepEqual(messages, [{ jsonrpc: "2.0", id: 7, result: {} }]);
    } finally {
      await transport.close();
    }
  });

  it("rejects a send to a child that has exited, at once", async () => {
    const transport = child(`process.exit(0)`);
    await transport.start();
    await until(() => transport.exit !== undefined, "the child has exited");
    await assert.rejects(transport.send(ping), /not running/);
  });

  it("settles every send at once and calls a child that does not read its stdin stuck", async () => {
    const lines: string[] = [];
    const timers = new ManualTimers();
    const transport = child(deaf, lines, timers);
    const faults: ChildFault[] = [];
    transport.onfault = (fault) => faults.push(fault);
    await transport.start();
    await until(() => lines.includes("ready"), "the child runs");
    const big: JSONRPCMessage = {
      jsonrpc: "2.0",
      id: 2,
      method: "echo",
      params: { text: "y".repeat(1 << 20) },
    };
    const sends = Math.ceil(maxStdinBacklogBytes / (1 << 20)) + 2;
    const results: ("sent" | "refused")[] = [];
    for (let i = 0; i < sends; i++) {
      transport.send(big).then(
        () => results.push("sent"),
        () => results.push("refused"),
      );
    }
    await until(() => results.length === sends, "every send has settled", 5_000);
    assert.equal(results.at(-1), "refused", "the backlog is bounded");
    assert.ok(faults.includes("stdin_stuck"));
    const closed = transport.close();
    await timers.advance(stopAfterMs.term); // SIGTERM
    await closed;
  });
});
