import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import { AnswerRewrite, chainFilters } from "../../src/aggregate/AnswerRewrite.ts";
import type { AnswerContext } from "../../src/aggregate/answerMessages.ts";
import { bareBody, headerValue, hopHeaders } from "../../src/aggregate/CallRewrite.ts";
import type { ListKind } from "../../src/aggregate/contracts.ts";
import { parseServerRequestId, serverRequestId } from "../../src/aggregate/serverRequestIds.ts";
import type { BodyFilter } from "../../src/exchange/BodyFilter.ts";
import { soleMember } from "../../src/jsonrpc/jsonPaths.ts";
import { BodyBudget } from "../../src/proxy/BodyBudget.ts";

describe("a call's body on its way to its server (SPEC §7.2)", () => {
  it("splices the bare name in and leaves every other byte as the client wrote it", () => {
    const body = Buffer.from(
      '{ "jsonrpc" : "2.0", "id" : 1.0e0 , "method":"tools/call", "params" : { "arguments":{"name":"x__y","n":12345678901234567890}, "name" : "s__tool" } }',
    );
    const out = bareBody(body, "tools/call", "tool", undefined)?.toString();
    assert.equal(out, body.toString().replace('"s__tool"', '"tool"'));
  });

  it("finds a name written with escapes, and every occurrence of a repeated key", () => {
    const body = Buffer.from(
      '{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"n\\u0061me":"a__b","name":"a__b"}}',
    );
    const out = JSON.parse(bareBody(body, "prompts/get", "b", undefined)?.toString() as string);
    assert.equal(out.params.name, "b");
    assert.doesNotMatch(bareBody(body, "prompts/get", "b", undefined)?.toString() as string, /a__b/);
  });

  it("finds a lone name by a search, and leaves to the walk any body where a search could be fooled", () => {
    const call = (params: string) =>
      Buffer.from(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{${params}}}`);
    const plain = call('"name":"s__t","arguments":{"text":"a/b"}');
    assert.deepEqual(soleMember(plain, "name", "s__t"), {
      path: 0,
      start: plain.indexOf('"s__t"'),
      end: plain.indexOf('"s__t"') + 6,
    });
    // an invalid byte in the name, read as U+FFFD: the name's text as read occurs only in the arguments
    const invalidByte = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"s__t'),
      Buffer.from([0xff]),
      Buffer.from('","arguments":{"k":"s__t\uFFFD"}}}'),
    ]);
    const fooling = [
      call('"name":"x","name":"s__t"'), // a key twice: both are changed, by the walk
      call('"n\\u0061me":"s__t","name":"s__t"'), // an escape could hide a key
      call('"name":"s\\u005f_t","arguments":{"k":"s__t"}'), // or the value
      call('"name":"s__t","arguments":{"name":1}'), // the key elsewhere
      call('"name":"s__t","arguments":{"k":"s__t"}'), // the value elsewhere
      invalidByte,
    ];
    for (const body of fooling) {
      const value = JSON.parse(new TextDecoder().decode(body)).params.name as string;
      assert.equal(soleMember(body, "name", value), undefined, body.toString());
    }
    // either way the body sent is the one the walk makes
    for (const body of [plain, ...fooling]) {
      const value = JSON.parse(new TextDecoder().decode(body)).params.name as string;
      const walked = bareBody(body, "tools/call", "t", undefined);
      assert.deepEqual(
        bareBody(body, "tools/call", "t", undefined, undefined, value),
        walked,
        body.toString(),
      );
    }
  });

  it("splices a completion's ref name or uri", () => {
    const body = Buffer.from(
      '{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"s__p"}}}',
    );
    assert.equal(
      JSON.parse(bareBody(body, "completion/complete", "p", undefined)?.toString() as string).params.ref.name,
      "p",
    );
  });

  it("puts the _meta envelope into params, making _meta when the client sent none, and keeps the client's own keys", () => {
    const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28" };
    const without = Buffer.from(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"s__t","arguments":{}}}',
    );
    assert.deepEqual(
      JSON.parse(bareBody(without, "tools/call", "t", envelope)?.toString() as string).params,
      {
        _meta: envelope,
        name: "t",
        arguments: {},
      },
    );
    const empty = Buffer.from(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"s__t","_meta":{ }}}',
    );
    assert.deepEqual(
      JSON.parse(bareBody(empty, "tools/call", "t", envelope)?.toString() as string).params._meta,
      envelope,
    );
    const own = Buffer.from(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"p"},"name":"s__t"}}',
    );
    assert.deepEqual(
      JSON.parse(bareBody(own, "tools/call", "t", envelope)?.toString() as string).params._meta,
      {
        ...envelope,
        progressToken: "p",
      },
    );
  });

  it("finds nothing to splice in a body whose name is no string", () => {
    const body = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}');
    assert.equal(bareBody(body, "tools/call", "t", undefined), undefined);
  });
});

describe("a call's headers on their way to its server", () => {
  const raw = [
    "Host",
    "h",
    "Mcp-Session-Id",
    "aggregate-token",
    "Mcp-Name",
    "s__t",
    "X-Drop",
    "1",
    "mcp-protocol-version",
    "2025-06-18",
  ];

  it("drops the client's session and the hop's dropped headers, sets the hop's, and names the bare value", () => {
    const hop = {
      setHeaders: { "MCP-Protocol-Version": "2025-11-25" },
      dropHeaders: ["x-drop"],
      metaEnvelope: undefined,
    };
    const { rawHeaders, headers } = hopHeaders(client(raw), "tools/call", "t", hop);
    assert.deepEqual(rawHeaders, ["Host", "h", "MCP-Protocol-Version", "2025-11-25", "Mcp-Name", "t"]);
    assert.deepEqual(headers, {
      host: "h",
      "mcp-protocol-version": "2025-11-25",
      "mcp-name": "t",
    } as IncomingHttpHeaders);
  });

  it("gives the pool the client's headers as node parsed them (a header sent twice one joined value, as a plain route reads it), changed alike", () => {
    const rawHeaders = [
      "Host",
      "h",
      "Content-Encoding",
      "identity",
      "content-encoding",
      "identity",
      "Mcp-Name",
      "s__t",
    ];
    const parsed: IncomingHttpHeaders = {
      host: "h",
      "content-encoding": "identity, identity",
      "mcp-name": "s__t",
    };
    const hop = { setHeaders: { "Mcp-Session-Id": "up-1" }, dropHeaders: [], metaEnvelope: undefined };
    const { headers } = hopHeaders({ rawHeaders, headers: parsed }, "tools/call", "t", hop);
    assert.deepEqual(headers, {
      host: "h",
      "content-encoding": "identity, identity",
      "mcp-session-id": "up-1",
      "mcp-name": "t",
    } as IncomingHttpHeaders);
    assert.equal(parsed["mcp-name"], "s__t", "the client's own headers are left alone");
  });

  it("adds Mcp-Method and Mcp-Name for a modern hop though the client sent neither, and no Mcp-Name for a method without one", () => {
    const hop = { setHeaders: {}, dropHeaders: [], metaEnvelope: {} };
    assert.deepEqual(
      hopHeaders(client(["Host", "h", "mcp-method", "x"]), "prompts/get", "p", hop).rawHeaders,
      ["Host", "h", "Mcp-Method", "prompts/get", "Mcp-Name", "p"],
    );
    assert.deepEqual(hopHeaders(client(["Host", "h"]), "completion/complete", "p", hop).rawHeaders, [
      "Host",
      "h",
      "Mcp-Method",
      "completion/complete",
    ]);
  });

  it("encodes a header value as the SDK does: plain ASCII as it is, anything else as the Base64 sentinel", () => {
    assert.equal(headerValue("file:///a b"), "file:///a b");
    assert.equal(headerValue("café"), `=?base64?${Buffer.from("café").toString("base64")}?=`);
    assert.equal(headerValue(" lead"), `=?base64?${Buffer.from(" lead").toString("base64")}?=`);
    assert.equal(headerValue("=?base64?x?="), `=?base64?${Buffer.from("=?base64?x?=").toString("base64")}?=`);
  });
});

/** A rewrite's context over server "s", recording what the lists and the refusals are told. */
/** A client's request headers as node gives them: raw, and parsed (lowercase names, one value each here). */
function client(rawHeaders: readonly string[]) {
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i < rawHeaders.length; i += 2)
    headers[(rawHeaders[i] as string).toLowerCase()] = rawHeaders[i + 1] as string;
  return { rawHeaders, headers };
}

function context(overrides: Partial<AnswerContext> = {}) {
  const said: [string, ListKind][] = [];
  const refused: string[] = [];
  const made: AnswerContext = {
    server: "s",
    lists: {
      prefixUri: (server, uri) => `${server}+${uri}`,
      serverSaidChanged: (server, kind) => said.push([server, kind]),
    },
    addsResultType: false,
    relaysServerRequests: true,
    refuseServerRequest: (id) => refused.push(id),
    ...overrides,
  };
  return { context: made, said, refused };
}

/** What a client gets of `chunks` through `filter`. */
function through(filter: BodyFilter, headers: IncomingHttpHeaders, chunks: readonly string[], status = 200) {
  const head = filter.head(status, headers);
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    const piece = filter.data(Buffer.from(chunk));
    if (piece !== undefined) out.push(piece);
  }
  const last = filter.end();
  if (last !== undefined) out.push(last);
  filter.close?.();
  return { head, text: Buffer.concat(out).toString() };
}

const json = { "content-type": "application/json", "content-length": "10" };
const events = { "content-type": "text/event-stream" };

describe("a server's answer on its way to the aggregate's client", () => {
  it("passes a JSON answer without URIs byte for byte", () => {
    const budget = new BodyBudget(1 << 20);
    const answer = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"1.0"}],"n":1.0}}';
    const { head, text } = through(
      new AnswerRewrite(context().context, { budget, maxBytes: 1 << 20 }),
      json,
      [answer.slice(0, 20), answer.slice(20)],
    );
    assert.equal(text, answer);
    assert.equal(head["content-length"], undefined);
    assert.equal(budget.held, 0);
  });

  it("prefixes URIs in prompt messages and resources/updated notifications", () => {
    const holding = { budget: new BodyBudget(1 << 20), maxBytes: 1 << 20 };
    const prompt =
      '{"jsonrpc":"2.0","id":1,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"u:1"}}},{"role":"user","content":{"type":"resource_link","uri":"u:2"}}]}}';
    const { text } = through(new AnswerRewrite(context().context, holding), json, [prompt]);
    assert.equal(text, prompt.replace('"u:1"', '"s+u:1"').replace('"u:2"', '"s+u:2"'));
    const updated = '{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"u:3"}}';
    const streamed = through(new AnswerRewrite(context().context, holding), events, [`data: ${updated}\n\n`]);
    assert.equal(streamed.text, `data: ${updated.replace('"u:3"', '"s+u:3"')}\n\n`);
  });

  it("rewrites an event stream event by event, an event split over chunks included, and keeps other fields", () => {
    const holding = { budget: new BodyBudget(1 << 20), maxBytes: 1 << 20 };
    const progress =
      'event: message\nid: 4\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n';
    const result =
      'event: message\nid: 5\ndata: {"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"u:9"}]}}\n\n';
    const all = progress + result;
    const { text } = through(new AnswerRewrite(context().context, holding), events, [
      all.slice(0, 50),
      all.slice(50, 130),
      all.slice(130),
    ]);
    assert.equal(text, progress + result.replace('"u:9"', '"s+u:9"'));
  });

  it("passes an answer too large to hold unchanged, and says so", () => {
    let told = 0;
    const holding = { budget: new BodyBudget(1 << 20), maxBytes: 40, onUnheld: () => told++ };
    const answer = '{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"u:1","text":"long enough"}]}}';
    const { text } = through(new AnswerRewrite(context().context, holding), json, [
      answer.slice(0, 30),
      answer.slice(30),
    ]);
    assert.equal(text, answer);
    assert.equal(told, 1);
    assert.equal(holding.budget.held, 0);
  });

  it("passes an answer unchanged when the shared budget has no room for it", () => {
    const budget = new BodyBudget(10);
    const answer = '{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"u:1"}]}}';
    const { text } = through(new AnswerRewrite(context().context, { budget, maxBytes: 1 << 20 }), json, [
      answer,
    ]);
    assert.equal(text, answer);
  });

  it("passes an error status and a compressed answer as they came", () => {
    const holding = { budget: new BodyBudget(1 << 20), maxBytes: 1 << 20 };
    const answer = '{"contents":[{"uri":"u:1"}]}';
    assert.equal(through(new AnswerRewrite(context().context, holding), json, [answer], 500).text, answer);
    const gzip = { ...json, "content-encoding": "gzip" };
    const passed = through(new AnswerRewrite(context().context, holding), gzip, [answer]);
    assert.equal(passed.text, answer);
    assert.equal(passed.head["content-length"], "10");
  });

  it("swallows a server's list_changed and tells the lists; refuses a server's request for a client that cannot answer", () => {
    const made = context({ relaysServerRequests: false });
    const holding = { budget: new BodyBudget(1 << 20), maxBytes: 1 << 20 };
    const stream = [
      'data: {"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}\n\n',
      'data: {"jsonrpc":"2.0","id":"r-1","method":"roots/list"}\n\n',
      'data: {"jsonrpc":"2.0","id":1,"result":{}}\n\n',
    ];
    const { text } = through(new AnswerRewrite(made.context, holding), events, stream);
    assert.equal(text, stream[2]);
    assert.deepEqual(made.said, [["s", "prompts"]]);
    assert.deepEqual(made.refused, ['"r-1"']);
  });

  it("chains the aggregate's rewrite before the pool's own filter", () => {
    const holding = { budget: new BodyBudget(1 << 20), maxBytes: 1 << 20 };
    const upper: BodyFilter = {
      head: (_status, headers) => ({ ...headers, "x-second": "1" }),
      data: (chunk) => Buffer.from(chunk.toString().toUpperCase()),
      end: () => Buffer.from("!"),
    };
    const { head, text } = through(chainFilters(new AnswerRewrite(context().context, holding), upper), json, [
      '{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"u"}]}}',
    ]);
    assert.equal(head["x-second"], "1");
    // the JSON is held to its end by the first, then goes through the second
    assert.equal(text, '{"JSONRPC":"2.0","ID":1,"RESULT":{"CONTENTS":[{"URI":"S+U"}]}}!');
  });
});

describe("ids of server requests relayed to earlier-era clients", () => {
  it("are unique per server and read back to the server and its own id text", () => {
    assert.equal(serverRequestId("notes", "0"), "bw:notes:0");
    assert.deepEqual(parseServerRequestId("bw:notes:0"), { server: "notes", idText: "0" });
    assert.deepEqual(parseServerRequestId('bw:a-b:"x:y"'), { server: "a-b", idText: '"x:y"' });
    assert.equal(parseServerRequestId("bw:notes:{}"), undefined);
    assert.equal(parseServerRequestId("7"), undefined);
  });
});
