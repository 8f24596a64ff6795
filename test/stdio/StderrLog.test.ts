import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StderrLog } from "../../src/upstreams/stdio/StderrLog.ts";
import { capturedLog } from "../support/capturedLog.ts";

describe("StderrLog", () => {
  it("logs at most 100 stderr lines a second per upstream, and how many it dropped", () => {
    const { logger: capturedLogger, lines } = capturedLog();
    const log = new StderrLog(capturedLogger, "files");
    for (let i = 0; i < 150; i++) log.line(42, `line ${i}`, 10_000);
    log.line(42, "next second", 11_000);
    const logged = lines.filter((l) => l["msg"] === "stdio stderr");
    assert.equal(logged.length, 101);
    assert.deepEqual(
      [logged[0]?.["upstream"], logged[0]?.["pid"], logged[0]?.["line"]],
      ["files", 42, "line 0"],
    );
    assert.equal(logged.at(-1)?.["line"], "next second");
    const dropped = lines.find((l) => l["msg"] === "stdio stderr lines dropped");
    assert.equal(dropped?.["dropped"], 50);
  });
});
