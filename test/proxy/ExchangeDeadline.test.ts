import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExchangeDeadline, type Expiry } from "../../src/exchange/ExchangeDeadline.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

function deadline(limits = { answerTimeoutMs: 1_000, maxAnswerMs: 10_000 }) {
  const timers = new ManualTimers();
  const expired: [Expiry, number][] = [];
  const made = new ExchangeDeadline(timers, limits, timers.now(), (expiry) =>
    expired.push([expiry, timers.now()]),
  );
  return { timers, expired, deadline: made };
}

describe("ExchangeDeadline: one deadline per exchange, on stepped time", () => {
  it("runs out for the head at the request's deadline", async () => {
    const { timers, expired, deadline: d } = deadline();
    d.awaitHead(500);
    await timers.advance(499);
    assert.deepEqual(expired, []);
    await timers.advance(1);
    assert.deepEqual(expired, [["head", 500]]);
  });

  it("waits for the answer from the head, and again from each progress, within max_answer_ms", async () => {
    const { timers, expired, deadline: d } = deadline({ answerTimeoutMs: 1_000, maxAnswerMs: 2_500 });
    d.awaitHead(30_000);
    await timers.advance(100);
    d.awaitAnswer(); // due at 1100
    await timers.advance(900);
    d.progressed(); // due at 2000
    await timers.advance(900);
    d.progressed(); // 2900, but max_answer_ms bounds it at 2500
    await timers.advance(1_000);
    assert.deepEqual(expired, [["answer", 2_500]]);
    assert.equal(timers.pending, 0);
  });

  it("keeps one timer: the request's deadline runs on when it comes before the answer's", async () => {
    const { timers, expired, deadline: d } = deadline({ answerTimeoutMs: 5_000, maxAnswerMs: 0 });
    d.awaitHead(1_000);
    d.awaitAnswer();
    assert.equal(timers.pending, 1);
    await timers.advance(5_000);
    assert.deepEqual(expired, [["answer", 5_000]]);
  });

  it("sets a wait beyond node's timers again for the rest, instead of firing it early", async () => {
    const { timers, expired, deadline: d } = deadline();
    d.awaitHead(3e9);
    await timers.advance(2_147_483_647);
    assert.deepEqual(expired, [], "not at the clamped first firing");
    await timers.advance(3e9 - 2_147_483_647);
    assert.deepEqual(expired, [["head", 3e9]]);
  });

  it("never runs out once stopped, and has no answer deadline with both limits off", async () => {
    const { timers, expired, deadline: d } = deadline({ answerTimeoutMs: 0, maxAnswerMs: 0 });
    d.awaitHead(100);
    d.awaitAnswer();
    assert.equal(timers.pending, 0, "the answer is awaited for as long as it takes");
    d.awaitHead(100);
    d.stop();
    await timers.advance(1_000);
    assert.deepEqual(expired, []);
  });
});
