import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChildProcessTransport } from "../../src/stdio/ChildProcessTransport.ts";

/** A child that ignores its stdin closing and SIGTERM: only SIGKILL stops it. */
const stubborn = `process.on("SIGTERM", () => process.stderr.write("ignoring SIGTERM\\n")); setInterval(() => {}, 1000);`;
/** A child that exits once its stdin is closed. */
const polite = `process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`;

function child(source: string, lines: string[] = []) {
  return new ChildProcessTransport({
    command: [process.execPath, "-e", source],
    cwd: undefined,
    env: {},
    onStderrLine: (line) => lines.push(line),
    stopAfterMs: { term: 100, kill: 200 },
  });
}

describe("ChildProcessTransport", () => {
  it("stops a child in steps: stdin closed, then SIGTERM, then SIGKILL", async () => {
    const lines: string[] = [];
    const transport = child(stubborn, lines);
    await transport.start();
    await transport.close();
    assert.deepEqual(transport.exit, { code: null, signal: "SIGKILL" });
    assert.deepEqual(lines, ["ignoring SIGTERM"], "SIGTERM came first, and was ignored");
  });

  it("lets a child that exits when its stdin closes go without a signal", async () => {
    const transport = child(polite);
    await transport.start();
    await transport.close();
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
});
