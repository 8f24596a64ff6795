import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventStreamReader } from "../../src/http/EventStreamReader.ts";
import { JsonRpcJudge } from "../../src/judges/JsonRpcJudge.ts";
import { ToolCatalog } from "../../src/mcp/ToolCatalog.ts";
import { ToolListJudge } from "../../src/mcp/ToolListJudge.ts";
import { ToolListNames } from "../../src/mcp/ToolListNames.ts";

/** The names `text` yields, fed whole and fed a byte at a time (both must agree). */
function namesOf(text: string, limit = 1_000): string[] {
  const whole = new ToolListNames(limit);
  whole.feed(Buffer.from(text));
  const bytes = new ToolListNames(limit);
  for (const byte of Buffer.from(text)) bytes.feed(Buffer.from([byte]));
  assert.deepEqual(bytes.names, whole.names, "chunking changes nothing");
  return whole.names;
}

const list = (tools: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id: 1, result: { ...extra, tools } });

describe("ToolListNames: the names of a tools/list answer, read as it streams", () => {
  it("reads result.tools[].name, whatever comes before or after it in each tool", () => {
    const tools = [
      { description: '{not: [json]} "quoted"', name: "query", inputSchema: { type: "object" } },
      { inputSchema: { properties: { name: { type: "string" } } }, name: "search.v2" },
      { title: "no name" },
    ];
    assert.deepEqual(namesOf(list(tools, { nextCursor: "c" })), ["query", "search.v2"]);
  });

  it("passes over a name anywhere else: schemas, other keys of the result, requests, errors", () => {
    const schema = { type: "object", properties: { name: { const: "schema_name" } }, name: "in_schema" };
    const elsewhere = [
      list([{ name: "real", inputSchema: schema, annotations: { name: "annotation" } }], {
        other: [{ name: "other_list" }],
        name: "result_name",
      }),
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x", params: { tools: [{ name: "request" }] } }),
      JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 1, data: { tools: [{ name: "error" }] } } }),
      JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools: { name: "not_an_array" } } }),
      JSON.stringify([{ jsonrpc: "2.0", id: 1, result: { tools: [{ name: "in_a_batch" }] } }]),
    ];
    assert.deepEqual(
      elsewhere.map((text) => namesOf(text)),
      [["real"], [], [], [], []],
    );
  });

  it("undoes JSON escapes in keys and names, as a parser would", () => {
    const text = '{"jsonrpc":"2.0","id":1,"res\\u0075lt":{"tools":[{"n\\u0061me":"\\u0071uery"}]}}';
    assert.deepEqual(namesOf(text), ["query"]);
  });

  it("keeps no name longer than a tool name may be, and reads on past it", () => {
    const text = list([{ name: "x".repeat(100_000) }, { name: "after" }]);
    assert.deepEqual(namesOf(text), ["after"]);
  });

  it("steps over nesting of any depth, and stops at the limit", () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const text = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"x":${deep},"name":"a"},{"name":"b"},{"name":"c"}]}}`;
    assert.deepEqual(namesOf(text), ["a", "b", "c"]);
    assert.deepEqual(namesOf(text, 2), ["a", "b"]);
  });
});

describe("EventStreamReader: the data of an event stream's events, without keeping it", () => {
  it("joins an event's data lines, whatever the line ends, and passes over other fields and comments", () => {
    const events: string[] = [];
    let current = "";
    const reader = new EventStreamReader({
      data: (bytes) => {
        current += bytes.toString("utf8");
      },
      event: () => {
        events.push(current);
        current = "";
      },
      discard: () => {
        current = "";
      },
    });
    const stream =
      ": comment\r\nevent: message\r\ndata: one\r\ndata:two\rid: 7\n\n\nretry: 5\n\ndata:  three\n\ndata: cut";
    for (const byte of Buffer.from(stream)) reader.feed(Buffer.from([byte]));
    reader.end();
    assert.deepEqual(events, ["one\ntwo", " three"]);
    assert.equal(current, "", "an event the stream did not end is discarded");
  });
});

describe("ToolListJudge: a tools/list call judged as before, its tools learnt", () => {
  const call = { ids: ["1"], progressTokens: new Set<string>(), tool: undefined };
  const rules = { isFailureStatus: (status: number) => status >= 500, isFailureCode: () => false };
  const answer = list([{ name: "query" }, { name: "search" }]);

  function judged(contentType: string, chunks: string[], status = 200, maxBytes?: number) {
    const catalog = new ToolCatalog(10);
    const judge = new ToolListJudge(new JsonRpcJudge(call, rules), catalog, maxBytes);
    const outcomes: unknown[] = [judge.head(status, { "content-type": contentType })];
    for (const chunk of chunks) outcomes.push(judge.data(Buffer.from(chunk)));
    if (outcomes.at(-1) === "pending") outcomes.push(judge.end());
    return { catalog, outcomes };
  }

  it("learns the names of a JSON answer when it ends, and judges it a success", () => {
    const { catalog, outcomes } = judged("application/json", [answer.slice(0, 40), answer.slice(40)]);
    assert.deepEqual(outcomes, ["pending", "pending", "pending", "success"]);
    assert.deepEqual([catalog.lists("query"), catalog.lists("search")], [true, true]);
  });

  it("learns the names of the event that answers, amid notifications, split over chunks", () => {
    const progress = JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/progress",
      params: { tools: [{ name: "p" }] },
    });
    const stream = `data: ${progress}\n\nevent: message\ndata: ${answer}\n\n`;
    const { catalog, outcomes } = judged("text/event-stream", [stream.slice(0, 70), stream.slice(70)]);
    assert.equal(outcomes.at(-1), "success");
    assert.deepEqual(
      [catalog.lists("query"), catalog.lists("search"), catalog.knows("p")],
      [true, true, false],
    );
  });

  it("keeps the names read before its byte limit, and reads no further", () => {
    const cut = answer.indexOf("search");
    const { catalog } = judged("application/json", [answer], 200, cut);
    assert.deepEqual([catalog.lists("query"), catalog.lists("search")], [true, false]);
  });

  it("learns nothing from an answer that is not a 2xx list", () => {
    assert.equal(judged("application/json", [answer], 500).catalog.size, 0);
    assert.equal(judged("text/plain", [answer]).catalog.size, 0);
  });
});
