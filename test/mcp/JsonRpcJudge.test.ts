import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonRpcCall } from "../../src/jsonrpc/jsonRpcCall.ts";
import { JsonRpcJudge } from "../../src/judges/JsonRpcJudge.ts";
import { judgeContract } from "../support/judgeContract.ts";

const rules = { isFailureStatus: (s: number) => s >= 500, isFailureCode: (c: number) => c === -32603 };
const call = (over: Partial<JsonRpcCall> = {}): JsonRpcCall => ({
  ids: ["1"],
  progressTokens: new Set(),
  tool: undefined,
  ...over,
});
const sse = { "content-type": "text/event-stream" };
const event = (data: string) => Buffer.from(`event: message\ndata: ${data}\n\n`);

judgeContract({
  name: "JsonRpcJudge on a JSON body",
  make: () => new JsonRpcJudge(call(), rules),
  whole: {
    status: 200,
    headers: { "content-type": "application/json" },
    chunks: [Buffer.from('{"jsonrpc":"2.0","id":1,'), Buffer.from('"error":{"code":-32603,"message":"x"}}')],
  },
});

judgeContract({
  name: "JsonRpcJudge on an event stream",
  make: () => new JsonRpcJudge(call(), rules),
  whole: {
    status: 200,
    headers: sse,
    chunks: [
      event('{"jsonrpc":"2.0","method":"notifications/message","params":{}}'),
      Buffer.from('data: {"jsonrpc":"2.0","id":1,"result":'),
      Buffer.from('{"content":[]}}\n\n'),
    ],
  },
});

describe("JsonRpcJudge on an event stream (SPEC §3.1)", () => {
  it("reports progress for the call's token, compared by value, and no other's", () => {
    const judge = new JsonRpcJudge(call({ progressTokens: new Set(['"té"']) }), rules);
    judge.head(200, sse);
    const progress = (token: string) =>
      event(
        `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":${token},"progress":1}}`,
      );
    assert.equal(judge.data(progress('"t\\u00e9"')), "progressed");
    assert.equal(judge.data(progress('"other"')), "pending");
  });

  it("counts an event only once it is dispatched: an answer whose blank line never comes is a cut stream", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    assert.equal(judge.data(Buffer.from('data: {"jsonrpc":"2.0","id":1,"result":{}}\n')), "pending");
    assert.equal(judge.end(), "failure");
  });

  it("joins an event's data lines, as the standard does, before reading them", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    const split = 'data: {"jsonrpc":"2.0",\r\ndata: "id":1,\rdata:"error":{"code":-32603}}\r\n\r\n';
    assert.equal(judge.data(Buffer.from(split)), "failure");
  });

  it("fails the upstream for a process that exited under the call, but not for a session Breakwater ended", () => {
    const exited = (data: string) => {
      const judge = new JsonRpcJudge(call(), rules);
      judge.head(200, sse);
      return judge.data(
        event(
          `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x","data":{"reason":"upstream_exited"${data}}}}`,
        ),
      );
    };
    assert.equal(exited(',"exitCode":3'), "failure");
    for (const stopped of ["deleted", "idle", "shutdown"])
      assert.equal(exited(`,"stopped":"${stopped}"`), "neutral");
  });

  it("waits for every id of a batch, each answered in its own event", () => {
    const judge = new JsonRpcJudge(call({ ids: ["1", '"b"'] }), rules);
    judge.head(200, sse);
    assert.equal(judge.data(event('{"jsonrpc":"2.0","id":1,"result":{}}')), "pending");
    assert.deepEqual(judge.unanswered(), ['"b"']);
    assert.equal(judge.data(event('{"jsonrpc":"2.0","id":"b","result":{}}')), "success");
  });
});

describe("JsonRpcJudge's answer error, for traces (SPEC §9 error.type)", () => {
  const json = { "content-type": "application/json" };
  const read = (judge: JsonRpcJudge, headers: Record<string, string>, body: string) => {
    judge.head(200, headers);
    judge.data(Buffer.from(body));
    judge.end();
    return judge.answerError();
  };

  it("names the code of an error answer that is not a failure (the client's own fault), as text", () => {
    const judge = new JsonRpcJudge(call(), rules);
    assert.equal(
      read(judge, json, '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}'),
      "-32602",
    );
  });

  it("names the code of a failing error answer read from an event stream", () => {
    const judge = new JsonRpcJudge(call(), rules);
    const answer = event('{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}').toString();
    assert.equal(read(judge, sse, answer), "-32603");
  });

  it("says tool_error for a tool's isError result, and nothing for a plain result", () => {
    const erred = new JsonRpcJudge(call({ tool: "t" }), rules);
    const body = '{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}';
    assert.equal(read(erred, json, body), "tool_error");
    const fine = new JsonRpcJudge(call({ tool: "t" }), rules);
    assert.equal(read(fine, json, '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}'), undefined);
  });

  it("ignores an error in an event that never ended (the client never saw it)", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    judge.data(Buffer.from('data: {"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}\n'));
    judge.end();
    assert.equal(judge.answerError(), undefined);
  });
});
