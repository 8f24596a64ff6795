import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventStreamReader } from "../../src/http/EventStreamReader.ts";
import type { JsonRpcCall } from "../../src/jsonrpc/jsonRpcCall.ts";
import { JsonRpcJudge } from "../../src/judges/JsonRpcJudge.ts";

const rules = { isFailureStatus: (s: number) => s >= 500, isFailureCode: (c: number) => c === -32603 };
const call = (over: Partial<JsonRpcCall> = {}): JsonRpcCall => ({
  ids: ['"listen:1"'],
  progressTokens: new Set(),
  tool: undefined,
  modern: true,
  ...over,
});
const sse = { "content-type": "text/event-stream" };
const json = { "content-type": "application/json" };
const event = (data: unknown) => Buffer.from(`event: message\ndata: ${JSON.stringify(data)}\n\n`);
const ack = (subscriptionId: unknown) =>
  event({
    jsonrpc: "2.0",
    method: "notifications/subscriptions/acknowledged",
    params: { _meta: { "io.modelcontextprotocol/subscriptionId": subscriptionId }, notifications: {} },
  });

describe("JsonRpcJudge: a subscriptions/listen stream (SPEC §8.1)", () => {
  it("judges a listen stream a success when its acknowledgement names the listen request's id", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    assert.equal(judge.data(Buffer.from(": keep-alive\n\n")), "pending");
    assert.equal(judge.data(ack("listen:1")), "success");
  });

  it("matches the acknowledged subscription id by value, as written either way", () => {
    const judge = new JsonRpcJudge(call({ ids: ["7"] }), rules);
    judge.head(200, sse);
    assert.equal(
      judge.data(
        Buffer.from(
          'data: {"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":7.0}}}\n\n',
        ),
      ),
      "success",
    );
  });

  it("is not answered by another subscription's acknowledgement: its stream ending then is a cut", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    assert.equal(judge.data(ack("listen:2")), "pending");
    assert.equal(judge.end(), "failure");
    assert.equal(judge.failureCause(), "stream_cut");
  });

  it("is not answered by a server's request carrying the listen id, nor by an acknowledgement that has an id", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    assert.equal(judge.data(event({ jsonrpc: "2.0", id: "listen:1", method: "ping" })), "pending");
    const withId = {
      jsonrpc: "2.0",
      id: "listen:1",
      method: "notifications/subscriptions/acknowledged",
      params: { _meta: { "io.modelcontextprotocol/subscriptionId": "listen:1" } },
    };
    assert.equal(judge.data(event(withId)), "pending");
    assert.deepEqual(judge.unanswered(), ['"listen:1"']);
  });

  it("counts the acknowledgement only once its event is dispatched", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    const whole = ack("listen:1");
    assert.equal(judge.data(whole.subarray(0, whole.length - 1)), "pending");
    assert.equal(judge.end(), "failure");
  });

  it("keeps a list_changed notification before the acknowledgement from answering", () => {
    const judge = new JsonRpcJudge(call(), rules);
    judge.head(200, sse);
    const changed = {
      jsonrpc: "2.0",
      method: "notifications/tools/list_changed",
      params: { _meta: { "io.modelcontextprotocol/subscriptionId": "listen:1" } },
    };
    assert.equal(judge.data(event(changed)), "pending");
  });
});

describe("JsonRpcJudge: results of MCP 2026-07-28 are answers (SPEC §8.1)", () => {
  for (const resultType of ["input_required", "task", "complete"]) {
    it(`judges a tool call's ${resultType} result a success (JSON and event stream)`, () => {
      const tool = call({ ids: ["3"], tool: "t" });
      const answer = { jsonrpc: "2.0", id: 3, result: { resultType, requestState: "s", task: {} } };
      const onJson = new JsonRpcJudge(tool, rules);
      onJson.head(200, json);
      onJson.data(Buffer.from(JSON.stringify(answer)));
      assert.equal(onJson.end(), "success");
      const onStream = new JsonRpcJudge(tool, rules);
      onStream.head(200, sse);
      assert.equal(onStream.data(event(answer)), "success");
    });
  }
});

describe("JsonRpcJudge: an earlier era's resumable stream (MCP 2025-11-25, SEP-1699; SPEC §8.1)", () => {
  const earlier = call({ ids: ["1"], modern: false });

  it("judges a stream closed after a priming event with an id (no retry) neutral: the client resumes it", () => {
    const judge = new JsonRpcJudge(earlier, rules);
    judge.head(200, sse);
    assert.equal(judge.data(Buffer.from("id: 0_ab\ndata: \n\n")), "pending");
    assert.equal(judge.end(), "neutral");
  });

  it("judges a stream closed after an event with an id and a retry field neutral", () => {
    const judge = new JsonRpcJudge(earlier, rules);
    judge.head(200, sse);
    judge.data(Buffer.from("id: 5\nretry: 1000\ndata: \n\n"));
    assert.equal(judge.end(), "neutral");
  });

  it("still fails a stream cut without any event id (stream_cut), an empty id included", () => {
    const judge = new JsonRpcJudge(earlier, rules);
    judge.head(200, sse);
    judge.data(Buffer.from("id:\ndata: \n\n"));
    judge.data(event({ jsonrpc: "2.0", method: "notifications/message", params: {} }));
    assert.equal(judge.end(), "failure");
    assert.equal(judge.failureCause(), "stream_cut");
  });

  it("does not count an id whose event was never dispatched", () => {
    const judge = new JsonRpcJudge(earlier, rules);
    judge.head(200, sse);
    judge.data(Buffer.from("id: 5\ndata: {"));
    assert.equal(judge.end(), "failure");
  });

  it("fails a modern call's stream cut after an event with an id: 2026-07-28 streams cannot be resumed", () => {
    const judge = new JsonRpcJudge(call({ ids: ["1"], modern: true }), rules);
    judge.head(200, sse);
    judge.data(Buffer.from("id: 5\ndata: \n\n"));
    assert.equal(judge.end(), "failure");
  });

  it("still judges the answer when it comes after the priming event", () => {
    const judge = new JsonRpcJudge(earlier, rules);
    judge.head(200, sse);
    judge.data(Buffer.from("id: 5\ndata: \n\n"));
    assert.equal(
      judge.data(event({ jsonrpc: "2.0", id: 1, error: { code: -32603, message: "x" } })),
      "failure",
    );
  });
});

describe("EventStreamReader: an event's id, for resumable streams", () => {
  /** What the reader tells of `chunks`, in order: "id", "data:<text>", "event", "discard". */
  function read(chunks: string[]): string[] {
    const told: string[] = [];
    const reader = new EventStreamReader({
      data: (bytes) => told.push(`data:${bytes.toString()}`),
      event: () => told.push("event"),
      discard: () => told.push("discard"),
      id: () => told.push("id"),
    });
    for (const chunk of chunks) reader.feed(Buffer.from(chunk));
    return told;
  }

  it("tells of an id field with a value once, whatever the chunks and line endings", () => {
    assert.deepEqual(read(["i", "d: 1", "23\r", "data: x\r\r"]), ["id", "data:x", "event"]);
    assert.deepEqual(read(["id:7\ndata\n\n"]), ["id", "event"]);
  });

  it("tells nothing of an empty id, a field only starting with id, or an id without a colon", () => {
    assert.deepEqual(read(["id:\nidx: 5\nid\ndata: y\n\n"]), ["data:y", "event"]);
    assert.deepEqual(read(["id: \n\n"]), []);
  });

  it("still reads the data of an event that has an id", () => {
    assert.deepEqual(read(["data: a\nid: 1\ndata: b\n\n"]), ["data:a", "id", "data:\n", "data:b", "event"]);
  });
});
