import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FailureLog, otherCauses } from "../../src/app/FailureLog.ts";
import type { ChargedReport } from "../../src/exchange/Settlement.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

/** A failure log on stepped time, and the lines it wrote. */
function failureLog(options: { maxCausesPerUpstream?: number } = {}) {
  const { logger: capturedLogger, lines } = capturedLog();
  const timers = new ManualTimers();
  const log = new FailureLog({ logger: capturedLogger, timers, intervalMs: 10_000, ...options });
  return { log, timers, lines };
}

const upstream = (name: string) => ({ name }) as Upstream;

function charged(name: string, cause: string, tool?: string): ChargedReport {
  return { upstream: upstream(name), upstreamCharged: tool === undefined, tool, cause, problem: undefined };
}

const summary = (line: Record<string, unknown>) => [
  line["msg"],
  line["upstream"],
  line["cause"],
  line["count"],
];

describe("the failure log", () => {
  it("logs the first failure of a cause at once, then one line per interval counting the repeats", async () => {
    const { log, timers, lines } = failureLog();
    for (let i = 0; i < 50; i++) log.charged(charged("dead", "ECONNREFUSED"));
    assert.equal(lines.length, 1, "a dead upstream does not flood the log");
    assert.deepEqual(summary(lines[0] ?? {}), ["upstream failure", "dead", "ECONNREFUSED", undefined]);
    assert.equal(lines[0]?.["level"], 40);
    await timers.advance(9_999);
    assert.equal(lines.length, 1);
    await timers.advance(1);
    assert.deepEqual(summary(lines[1] ?? {}), ["upstream failures repeated", "dead", "ECONNREFUSED", 49]);
    assert.equal(lines[1]?.["intervalSecs"], 10);
    for (let i = 0; i < 7; i++) log.charged(charged("dead", "ECONNREFUSED"));
    await timers.advance(10_000);
    assert.deepEqual(summary(lines[2] ?? {}), ["upstream failures repeated", "dead", "ECONNREFUSED", 7]);
    assert.equal(lines.length, 3);
  });

  it("logs a cause at once again after an interval without it, and says nothing for a quiet one", async () => {
    const { log, timers, lines } = failureLog();
    log.charged(charged("flaky", "status 502"));
    await timers.advance(10_000);
    assert.equal(lines.length, 1, "no count line when nothing repeated");
    assert.equal(timers.pending, 0, "nothing is kept for a cause gone quiet");
    log.charged(charged("flaky", "status 502"));
    assert.equal(lines.length, 2);
    assert.deepEqual(summary(lines[1] ?? {}), ["upstream failure", "flaky", "status 502", undefined]);
  });

  it("limits per upstream and cause: another cause, or another upstream, is logged at once", () => {
    const { log, lines } = failureLog();
    log.charged(charged("a", "ECONNREFUSED"));
    log.charged(charged("a", "timeout"));
    log.charged(charged("b", "ECONNREFUSED"));
    log.charged(charged("a", "jsonrpc -32603", "search"));
    assert.deepEqual(
      lines.map((l) => [l["upstream"], l["cause"], l["tool"]]),
      [
        ["a", "ECONNREFUSED", undefined],
        ["a", "timeout", undefined],
        ["b", "ECONNREFUSED", undefined],
        ["a", "jsonrpc -32603", "search"],
      ],
    );
  });

  it("keeps a fixed number of causes per upstream: the rest are counted together", async () => {
    const { log, timers, lines } = failureLog({ maxCausesPerUpstream: 2 });
    for (let code = 1; code <= 100; code++) log.charged(charged("noisy", `exit ${code}`));
    assert.equal(lines.length, 3, "two causes of their own, the first of the others");
    assert.equal(timers.pending, 3, "one interval per cause kept");
    await timers.advance(10_000);
    assert.deepEqual(summary(lines[3] ?? {}), ["upstream failures repeated", "noisy", otherCauses, 97]);
  });

  it("tells the counts not yet logged when it closes, and leaves no timer behind", () => {
    const { log, timers, lines } = failureLog();
    log.charged(charged("dead", "ECONNREFUSED"));
    log.charged(charged("dead", "ECONNREFUSED"));
    log.close();
    assert.deepEqual(summary(lines[1] ?? {}), ["upstream failures repeated", "dead", "ECONNREFUSED", 1]);
    assert.equal(timers.pending, 0);
  });
});
