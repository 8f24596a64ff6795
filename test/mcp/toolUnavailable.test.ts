import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { sendToolUnavailable } from "../../src/mcp/mcpAnswers.ts";

/** What a response was given: its status and its body. */
function capture(): { res: ServerResponse; sent: { status?: number; text?: string } } {
  const sent: { status?: number; text?: string } = {};
  const res = {
    writeHead(status: number) {
      sent.status = status;
      return this;
    },
    end(text: string) {
      sent.text = text;
    },
  } as unknown as ServerResponse;
  return { res, sent };
}

const refusal = { upstream: "u", tool: "query", state: "open", retryAfterMs: 12_000 } as const;

describe("the tool-circuit refusal in the shape of the request's era (SPEC §8.1)", () => {
  it("carries resultType complete for a 2026-07-28 request", () => {
    const { res, sent } = capture();
    sendToolUnavailable(res, "4", refusal, true);
    const answer = JSON.parse(String(sent.text));
    assert.equal(sent.status, 200);
    assert.deepEqual([answer.id, answer.result.resultType, answer.result.isError], [4, "complete", true]);
  });

  it("keeps the earlier shape, without resultType, for an earlier-era request", () => {
    const { res, sent } = capture();
    sendToolUnavailable(res, "4", refusal, false);
    const result = JSON.parse(String(sent.text)).result;
    assert.equal("resultType" in result, false);
    assert.equal(result._meta["breakwater/circuit"].retryAfterMs, 12_000);
  });
});
