import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/core/internal";
import type { AggregateCall } from "../../src/aggregate/AggregateCall.ts";
import type { BodyFilter } from "../../src/exchange/BodyFilter.ts";
import type { Call } from "../../src/proxy/Call.ts";
import type { PoolSend } from "../../src/proxy/Endpoint.ts";
import type { Upstream, UpstreamRequest } from "../../src/upstreams/Upstream.ts";
import { until } from "../support/until.ts";
import { type Handler, startUpstream, type TestUpstream } from "../support/upstream.ts";
import { type AggregateRig, mcpPool, modernRequest, plainHop, startAggregate } from "./endpointFakes.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** Answers each call with `result` (JSON text) under the request's own id text, as JSON. */
const answering =
  (result: string, headers: Record<string, string> = {}): Handler =>
  (_req, res, body) => {
    const id = /"id":("[^"]*"|[-0-9.eE]+)/.exec(body)?.[1] ?? "null";
    res.writeHead(200, { "content-type": "application/json", ...headers });
    res.end(`{"jsonrpc":"2.0","id":${id},"result":${result}}`);
  };

/** Answers with an event stream of `events` (JSON texts), then the result under the request's id. */
const streaming =
  (events: readonly string[], result: string): Handler =>
  (_req, res, body) => {
    const id = /"id":("[^"]*"|[-0-9.eE]+)/.exec(body)?.[1] ?? "null";
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const event of events) res.write(`event: message\ndata: ${event}\n\n`);
    res.end(`event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":${result}}\n\n`);
  };

let upstream: TestUpstream;
let rig: AggregateRig;
let pool: ReturnType<typeof mcpPool>;

beforeEach(async () => {
  upstream = await startUpstream(answering('{"content":[]}'));
  pool = mcpPool("notes", [upstream.url]);
  rig = await startAggregate([pool.pool]);
});
afterEach(async () => {
  await rig.close();
  await upstream.close();
});

/** An earlier-era session of the aggregate, its token as the client sends it. */
const session = () => ({ "mcp-session-id": rig.sessions.begin(LATEST_PROTOCOL_VERSION, {}).token });

describe("calls through the aggregate (SPEC §7.2)", () => {
  it("routes a tools/call by its prefix with the prefix off in body and Mcp-Name, the id and arguments byte for byte", async () => {
    const meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}';
    const body = `{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/call","params":{"name":"notes__add","arguments":{"n":1.50,"s":"caf\\u00e9"},${meta}}}`;
    const headers = {
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": "notes__add",
    };
    const reply = await rig.post(body, headers);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, '{"jsonrpc":"2.0","id":12345678901234567890,"result":{"content":[]}}');
    const seen = upstream.seen[0];
    assert.equal(seen?.body, body.replace('"name":"notes__add"', '"name":"add"'));
    assert.equal(seen?.headers["mcp-name"], "add");
    assert.deepEqual(rig.hops.asked[0], [
      "notes",
      { era: "modern", meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } },
    ]);
  });

  it("answers -32602 unknown_name for a name no server's prefix starts, sending nothing", async () => {
    const call = modernRequest(4, "tools/call", { name: "mail__send", arguments: {} }, "mail__send");
    const reply = await rig.post(call.body, call.headers);
    assert.deepEqual(JSON.parse(reply.text).error, {
      code: -32602,
      message: 'Unknown name "mail__send": it names no server of this endpoint',
      data: { reason: "unknown_name", name: "mail__send" },
    });
    assert.equal(upstream.seen.length, 0);
    assert.equal(rig.hops.asked.length, 0);
  });

  it("answers a tool of a server no hop reaches with the model-readable tool error naming the aggregate's tool (resultType for modern clients)", async () => {
    rig.hops.plan = () => ({ refused: true, reason: "circuit_open", retryAfterMs: 4_200 });
    const call = modernRequest(5, "tools/call", { name: "notes__add", arguments: {} }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.equal(reply.status, 200);
    const result = JSON.parse(reply.text).result;
    assert.equal(result.resultType, "complete");
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /Tool "notes__add" is temporarily unavailable.*5 s/);
    assert.deepEqual(result._meta["breakwater/circuit"], {
      server: "notes",
      tool: "notes__add",
      state: "open",
      retryAfterMs: 4_200,
    });
    const earlier = await rig.post(
      JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "notes__add" } }),
      session(),
    );
    assert.equal(JSON.parse(earlier.text).result.resultType, undefined);
    assert.equal(upstream.seen.length, 0);
  });

  it("answers a tool whose upstream's circuit is open with the tool error naming server, upstream and tool, not the 503", async () => {
    const [only] = pool.upstreams;
    only?.circuit.forceOpen();
    const call = modernRequest(7, "tools/call", { name: "notes__add", arguments: {} }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.equal(reply.status, 200);
    const circuit = JSON.parse(reply.text).result._meta["breakwater/circuit"];
    assert.equal(circuit.server, "notes");
    assert.equal(circuit.upstream, only?.name);
    assert.equal(circuit.tool, "notes__add");
    assert.equal(circuit.state, "forced_open");
    assert.equal(upstream.seen.length, 0);
  });

  it("answers any other call to a server no upstream admits with the route's 503 JSON-RPC error", async () => {
    pool.upstreams[0]?.circuit.forceOpen();
    const call = modernRequest(8, "prompts/get", { name: "notes__greet" }, "notes__greet");
    const reply = await rig.post(call.body, call.headers);
    assert.equal(reply.status, 503);
    assert.equal(JSON.parse(reply.text).id, 8);
  });

  it("sends an earlier-era client's call with the hop's session headers, never the aggregate's token, and drops the upstream's session from the answer", async () => {
    upstream.behave(answering('{"content":[]}', { "mcp-session-id": "up-1" }));
    rig.hops.plan = () =>
      plainHop({ setHeaders: { "Mcp-Session-Id": "up-1", "MCP-Protocol-Version": "2025-06-18" } });
    const headers = session();
    const reply = await rig.post(
      JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "notes__add" } }),
      headers,
    );
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["mcp-session-id"], undefined);
    const seen = upstream.seen[0];
    assert.equal(seen?.headers["mcp-session-id"], "up-1");
    assert.equal(seen?.headers["mcp-protocol-version"], "2025-06-18");
    assert.equal(JSON.parse(seen?.body as string).params.name, "add");
    assert.equal(rig.hops.asked[0]?.[1].era, "earlier");
  });

  it("an earlier-era client's call to a modern-only server carries the _meta envelope and the routing headers", async () => {
    const envelope = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientInfo": { name: "c" },
    };
    rig.hops.plan = () =>
      plainHop({
        metaEnvelope: envelope,
        setHeaders: { "MCP-Protocol-Version": "2026-07-28" },
      });
    const body =
      '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"notes__add","_meta":{"progressToken":3}}}';
    const reply = await rig.post(body, session());
    assert.equal(reply.status, 200);
    const seen = upstream.seen[0];
    assert.deepEqual(JSON.parse(seen?.body as string).params, {
      name: "add",
      _meta: { ...envelope, progressToken: 3 },
    });
    assert.equal(seen?.headers["mcp-name"], "add");
    assert.equal(seen?.headers["mcp-method"], "tools/call");
    assert.equal(seen?.headers["mcp-session-id"], undefined);
  });

  it("sends an earlier-era client's cancellation of a call in flight to that call's server, in its session, and drops one of no such call", async () => {
    rig.hops.plan = () => plainHop({ setHeaders: { "Mcp-Session-Id": "up-3" } });
    upstream.behave((_req, res, body) => {
      if (body.includes("notifications/cancelled")) res.writeHead(202).end(); // the call itself hangs
    });
    const headers = session();
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: 21,
      method: "tools/call",
      params: { name: "notes__slow" },
    });
    const pending = rig.post(call, headers).catch(() => undefined);
    await until(() => upstream.seen.length === 1, "the call upstream");
    const cancel = JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 21 },
    });
    const reply = await rig.post(cancel, headers);
    assert.equal(reply.status, 202);
    assert.equal(upstream.seen[1]?.body, cancel);
    assert.equal(upstream.seen[1]?.headers["mcp-session-id"], "up-3");
    const other = await rig.post(cancel.replace("21", "99"), headers);
    assert.equal(other.status, 202);
    assert.equal(upstream.seen.length, 2);
    await rig.proxy.close();
    await pending;
  });

  it("routes prompts/get by name, resources/read by URI and completion/complete by its ref", async () => {
    const get = modernRequest(11, "prompts/get", { name: "notes__greet" }, "notes__greet");
    await rig.post(get.body, get.headers);
    const sentinel = (value: string) => `=?base64?${Buffer.from(value).toString("base64")}?=`;
    const read = modernRequest(
      12,
      "resources/read",
      { uri: "notes+file:///café" },
      sentinel("notes+file:///café"),
    );
    const readReply = await rig.post(read.body, read.headers);
    assert.equal(readReply.status, 200, readReply.text);
    const complete = modernRequest(13, "completion/complete", {
      ref: { type: "ref/resource", uri: "notes+file:///{x}" },
      argument: { name: "x", value: "" },
    });
    await rig.post(complete.body, complete.headers);
    const params = upstream.seen.map((seen) => JSON.parse(seen.body).params);
    assert.equal(params[0].name, "greet");
    assert.equal(params[1].uri, "file:///café");
    assert.equal(upstream.seen[1]?.headers["mcp-name"], sentinel("file:///café"));
    assert.equal(params[2].ref.uri, "file:///{x}");
  });
});

describe("answers through the aggregate (SPEC §7.2)", () => {
  it("prefixes resource URIs in tool results, embedded resources and resources/read contents, and leaves every other byte alone", async () => {
    const result =
      '{"content":[{"type":"resource_link","uri":"file:///a","name":"a"},{"type":"resource","resource":{"uri":"file:///b","text":"uri"}},{"type":"text","text":"1.0"}],"n":1.0}';
    upstream.behave(answering(result));
    const call = modernRequest(14, "tools/call", { name: "notes__add" }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.equal(
      reply.text,
      `{"jsonrpc":"2.0","id":14,"result":${result.replace("file:///a", "notes+file:///a").replace("file:///b", "notes+file:///b")}}`,
    );
    upstream.behave(answering('{"contents":[{"uri":"file:///c","text":"x"}]}'));
    const read = modernRequest(15, "resources/read", { uri: "notes+file:///c" }, "notes+file:///c");
    const readReply = await rig.post(read.body, read.headers);
    assert.equal(JSON.parse(readReply.text).result.contents[0].uri, "notes+file:///c");
  });

  it("a modern client's call answered by an earlier-era server gets resultType complete, in JSON and in an event stream", async () => {
    rig.hops.plan = () => plainHop({ addsResultType: true });
    const call = modernRequest(16, "tools/call", { name: "notes__add" }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.equal(reply.text, '{"jsonrpc":"2.0","id":16,"result":{"resultType":"complete","content":[]}}');
    upstream.behave(
      streaming(['{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}'], "{}"),
    );
    const streamed = await rig.post(call.body, call.headers);
    assert.match(streamed.text, /"params":\{"progress":1\}/);
    assert.match(streamed.text, /"id":16,"result":\{"resultType":"complete"\}/);
  });

  it("keeps a server's list_changed on a call's stream from the client and tells the lists", async () => {
    upstream.behave(
      streaming(['{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}'], '{"content":[]}'),
    );
    const call = modernRequest(17, "tools/call", { name: "notes__add" }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.doesNotMatch(reply.text, /list_changed/);
    assert.match(reply.text, /"id":17/);
    assert.deepEqual(rig.lists.said, [["notes", "tools"]]);
  });

  it("relays a sampling request of an earlier-era server to an earlier-era client with an id unique per server, and routes the answer back", async () => {
    rig.hops.plan = () => plainHop({ setHeaders: { "Mcp-Session-Id": "up-7" } });
    upstream.behave(
      streaming(['{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}}'], "{}"),
    );
    const headers = session();
    const reply = await rig.post(
      JSON.stringify({ jsonrpc: "2.0", id: 18, method: "tools/call", params: { name: "notes__add" } }),
      headers,
    );
    assert.match(reply.text, /"id":"bw:notes:0","method":"sampling\/createMessage"/);
    upstream.behave((_req, res) => res.writeHead(202).end());
    const answer = await rig.post(
      '{"jsonrpc":"2.0","id":"bw:notes:0","result":{"role":"assistant"}}',
      headers,
    );
    assert.equal(answer.status, 202);
    const seen = upstream.seen.at(-1);
    assert.equal(seen?.body, '{"jsonrpc":"2.0","id":0,"result":{"role":"assistant"}}');
    assert.equal(seen?.headers["mcp-session-id"], "up-7");
  });

  it("answers a server's request -32601 for a modern client, and the server's call completes", async () => {
    const bound = pool.upstreams[0];
    rig.hops.plan = () => plainHop({ bound, setHeaders: { "Mcp-Session-Id": "shared-1" } });
    upstream.behave(
      streaming(['{"jsonrpc":"2.0","id":"s1","method":"elicitation/create","params":{}}'], '{"content":[]}'),
    );
    const call = modernRequest(19, "tools/call", { name: "notes__add" }, "notes__add");
    const reply = await rig.post(call.body, call.headers);
    assert.doesNotMatch(reply.text, /elicitation/);
    assert.match(reply.text, /"id":19,"result":\{"content":\[\]\}/);
    const [sent] = rig.poolClient.sent;
    assert.equal(sent?.pool, "notes");
    assert.deepEqual(sent?.message, {
      jsonrpc: "2.0",
      id: "s1",
      error: {
        code: -32601,
        message: "Method not found: the client cannot answer server requests through the aggregate",
      },
    });
    assert.equal(sent?.options.bound, bound);
    assert.deepEqual(sent?.options.headers, { "Mcp-Session-Id": "shared-1" });
  });
});

describe("an earlier-era client's upstream session lost (SPEC §7.2)", () => {
  /** Serves a tools/call of an earlier-era session with a PoolSend that only keeps what it is given. */
  async function served() {
    const token = session()["mcp-session-id"];
    const req = {
      method: "POST",
      headers: { "mcp-session-id": token },
      rawHeaders: ["Mcp-Session-Id", token],
      socket: { remoteAddress: "127.0.0.1" },
    } as unknown as IncomingMessage;
    const body = Buffer.from(
      '{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"notes__add"}}',
    );
    const sent: { request: UpstreamRequest; call: Call; bound: Upstream | undefined }[] = [];
    const send: PoolSend = async (_pool, _req, _res, request, call, bound) => {
      sent.push({ request, call, bound });
    };
    await rig.endpoint.serve(req, {} as ServerResponse, "", body, send);
    return sent[0] as (typeof sent)[number];
  }

  it("gives the proxy the call as a new session gets it, bound to that session's upstream, and answers in the new hop's shape", async () => {
    const bound = pool.upstreams[0] as Upstream;
    const renewed = plainHop({ bound, setHeaders: { "Mcp-Session-Id": "up-2" }, addsResultType: true });
    rig.hops.plan = () =>
      plainHop({ bound, setHeaders: { "Mcp-Session-Id": "up-1" }, sessionLost: async () => renewed });
    const { request, call, bound: first } = await served();
    assert.equal(first, bound);
    assert.deepEqual(request.rawHeaders, ["Mcp-Session-Id", "up-1"]);
    const lost = await (call as AggregateCall).sessionLost?.();
    assert.equal(lost?.bound, bound);
    assert.deepEqual(lost?.request.rawHeaders, ["Mcp-Session-Id", "up-2"]);
    assert.equal(JSON.parse(String(lost?.request.body)).params.name, "add");
    const filter = call.bodyFilter?.() as BodyFilter;
    filter.head(200, { "content-type": "application/json" });
    filter.data(Buffer.from('{"jsonrpc":"2.0","id":20,"result":{}}'));
    assert.equal(String(filter.end()), '{"jsonrpc":"2.0","id":20,"result":{"resultType":"complete"}}');
  });

  it("gives the proxy nothing when no new session can be opened", async () => {
    rig.hops.plan = () => plainHop({ bound: pool.upstreams[0], sessionLost: async () => undefined });
    const { call } = await served();
    assert.equal(await (call as AggregateCall).sessionLost?.(), undefined);
  });

  it("has no session to recover for a hop without one", async () => {
    const { call } = await served();
    assert.equal((call as AggregateCall).sessionLost, undefined);
  });
});
