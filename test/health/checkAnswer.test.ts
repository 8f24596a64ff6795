import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readCheckAnswer } from "../../src/health/checkAnswer.ts";
import { JsonRpcJudge } from "../../src/judges/JsonRpcJudge.ts";

const rules = { isFailureStatus: (s: number) => s >= 500, isFailureCode: (c: number) => c === -32603 };
const judge = () => new JsonRpcJudge({ ids: ['"c"'], progressTokens: new Set(), tool: undefined }, rules);

async function* chunks(...parts: string[]): AsyncIterable<Buffer> {
  for (const part of parts) yield Buffer.from(part);
}

describe("reading the answer to a health check's request", () => {
  it("finds the response in an event stream split anywhere, after a server's own notification", async () => {
    const answer = await readCheckAnswer(
      200,
      { "content-type": "text/event-stream" },
      chunks(
        'data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\nda',
        'ta: {"jsonrpc":"2.0","id":"c",',
        '"result":{"ok":true}}\n\n',
      ),
      judge(),
    );
    assert.deepEqual(answer, {
      status: 200,
      failed: false,
      response: { jsonrpc: "2.0", id: "c", result: { ok: true } },
    });
  });

  it("reads a 400's JSON body to its end, though its verdict came with the head", async () => {
    const answer = await readCheckAnswer(
      400,
      { "content-type": "application/json" },
      chunks('{"jsonrpc":"2.0","id":null,', '"error":{"code":-32000,"message":"Bad Request"}}'),
      judge(),
    );
    assert.equal(answer.failed, false);
    assert.deepEqual(answer.response?.error, { code: -32000, message: "Bad Request" });
  });

  it("judges a body past 64 KiB without keeping it", async () => {
    const big = `{"jsonrpc":"2.0","id":"c","error":{"code":-32603,"message":"${"x".repeat(70_000)}"}}`;
    const answer = await readCheckAnswer(200, { "content-type": "application/json" }, chunks(big), judge());
    assert.deepEqual(answer, { status: 200, failed: true, response: undefined });
  });
});
