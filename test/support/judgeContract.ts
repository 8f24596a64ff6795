/**
 * What every `ExchangeJudge` must do, whatever it judges by (a shared suite, as hono's routers share
 * `common.case.test.ts`): run by each judge's test file with a factory for fresh judges and the
 * responses that drive it.
 */
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import type { ExchangeJudge, Judgement } from "../../src/judges/ExchangeJudge.ts";

/** A response the judge under test reads as it streams: a head, then body chunks. */
export interface JudgedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly chunks: readonly Buffer[];
}

export interface JudgeUnderTest {
  readonly name: string;
  readonly make: () => ExchangeJudge;
  /** A 2xx response that this judge decides only once it has seen all of it (pending until then). */
  readonly whole: JudgedResponse;
}

const isOutcome = (j: Judgement) => j !== "pending" && j !== "progressed";

/** Feeds `response` the way the exchange does: stops asking once an outcome is given. */
function run(judge: ExchangeJudge, response: JudgedResponse, ended: boolean): Judgement[] {
  const said: Judgement[] = [judge.head(response.status, response.headers)];
  if (isOutcome(said[0] as Judgement)) return said;
  for (const chunk of response.chunks) {
    const judgement = judge.data(chunk);
    said.push(judgement);
    if (isOutcome(judgement)) return said;
  }
  if (ended) said.push(judge.end());
  return said;
}

export function judgeContract(subject: JudgeUnderTest): void {
  describe(`${subject.name} keeps the ExchangeJudge contract`, () => {
    it("gives exactly one outcome for a response read to its end", () => {
      const said = run(subject.make(), subject.whole, true);
      assert.equal(said.filter(isOutcome).length, 1, JSON.stringify(said));
      assert.ok(isOutcome(said.at(-1) as Judgement), "the outcome is the last thing it says");
    });

    it("is still pending when the body is cut before its end, so that the cut counts as a failure", () => {
      const { whole } = subject;
      for (let kept = 0; kept < whole.chunks.length; kept++) {
        const cut = { ...whole, chunks: whole.chunks.slice(0, kept) };
        const said = run(subject.make(), cut, false);
        assert.ok(!said.some(isOutcome), `decided after ${kept} chunks: ${JSON.stringify(said)}`);
      }
    });

    it("judges a failure status a failure at its head, and a 4xx neutral", () => {
      assert.equal(subject.make().head(503, { "content-type": "application/json" }), "failure");
      assert.equal(subject.make().head(404, { "content-type": "application/json" }), "neutral");
    });

    it("judges each response alone: a judge made for one exchange carries nothing into the next", () => {
      const first = run(subject.make(), subject.whole, true).at(-1);
      const second = run(subject.make(), subject.whole, true).at(-1);
      assert.deepEqual(first, second);
    });

    it("reads a body however it is cut into chunks", () => {
      const whole = Buffer.concat(subject.whole.chunks);
      const expected = run(subject.make(), subject.whole, true).at(-1);
      for (const size of [1, 3, 7, 64]) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < whole.length; i += size) chunks.push(whole.subarray(i, i + size));
        assert.deepEqual(
          run(subject.make(), { ...subject.whole, chunks }, true).at(-1),
          expected,
          `chunks of ${size}`,
        );
      }
    });
  });
}
