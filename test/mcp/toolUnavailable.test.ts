import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sendToolUnavailable } from "../../src/mcp/mcpAnswers.ts";
import { capturedResponse } from "../support/capturedResponse.ts";

const refusal = { upstream: "u", tool: "query", state: "open", retryAfterMs: 12_000 } as const;

describe("the tool-circuit refusal in the shape of the request's era (SPEC §8.1)", () => {
  it("carries resultType complete for a 2026-07-28 request", () => {
    const { res, sent } = capturedResponse();
    sendToolUnavailable(res, "4", refusal, true);
    const answer = JSON.parse(String(sent.text));
    assert.equal(sent.status, 200);
    assert.deepEqual([answer.id, answer.result.resultType, answer.result.isError], [4, "complete", true]);
  });

  it("keeps the earlier shape, without resultType, for an earlier-era request", () => {
    const { res, sent } = capturedResponse();
    sendToolUnavailable(res, "4", refusal, false);
    const result = JSON.parse(String(sent.text)).result;
    assert.equal("resultType" in result, false);
    assert.equal(result._meta["breakwater/circuit"].retryAfterMs, 12_000);
  });
});
