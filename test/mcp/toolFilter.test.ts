import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { request } from "undici";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import type { UpstreamConfig } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import type { CircuitBreaker } from "../../src/index.ts";
import { ToolListFilter } from "../../src/mcp/ToolListFilter.ts";
import { BodyBudget } from "../../src/proxy/BodyBudget.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { StdioUpstream } from "../../src/upstreams/stdio/StdioUpstream.ts";
import type { Upstream, UpstreamRequest } from "../../src/upstreams/Upstream.ts";
import { type BareProxy, startBareProxy } from "../support/bareProxy.ts";
import { capturedResponse } from "../support/capturedResponse.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { mcpReading } from "../support/mcpReading.ts";
import { connectSdk2Client, modernRevision, startSdk2Server } from "../support/sdk2.ts";
import { until } from "../support/until.ts";
import { type Handler, startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** The filter of these tests: `tools = { exclude = ["delete_*"] }`, as a server's config makes it. */
const noDeletes = (tool: string) => !tool.startsWith("delete_");

const toolCall = (id: number | string, tool: string, meta?: Record<string, unknown>) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: tool, arguments: {}, ...(meta === undefined ? {} : { _meta: meta }) },
  });
const listCall = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list" });
const post = (body: string): UpstreamRequest =>
  ({ method: "POST", target: "/", headers: [], body: Buffer.from(body) }) as unknown as UpstreamRequest;

/**
 * Breakwater's McpCalls over HTTP upstreams at `urls` (one each), tool circuits on, `allowsTool` as
 * given: what the data plane builds for one server with a `tools` filter.
 */
function mcpCalls(
  urls: readonly string[],
  allowsTool?: (tool: string) => boolean,
  listBudget?: BodyBudget,
  make: (u: UpstreamConfig, circuit: CircuitBreaker) => Upstream = (u, circuit) =>
    new HttpUpstream(u, circuit, 5_000),
) {
  const { config } = loadConfig({ upstreams: [...urls] });
  const circuits = new CircuitRegistry();
  const upstreams = config.upstreams.map((u) => make(u, circuits.create(u.name, u.breaker).breaker));
  for (const upstream of upstreams) opened.push(() => upstream.close());
  const { calls, tools } = mcpReading(config.upstreams, upstreams, circuits, config.isFailureCode, {
    allowsTool,
    listBudget,
  });
  return { calls, upstreams, circuits, tools };
}

/** A bare proxy whose one server has the `noDeletes` filter, in front of `url`. */
async function filteredProxy(
  url: string,
  listBudget?: BodyBudget,
): Promise<BareProxy & { circuits: CircuitRegistry }> {
  const { calls, upstreams, circuits } = mcpCalls([url], noDeletes, listBudget);
  const proxy = await startBareProxy(upstreams, { calls });
  opened.push(() => proxy.close());
  return Object.assign(proxy, { circuits });
}

async function send(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const tools = (...names: string[]) => names.map((name) => ({ name, inputSchema: { type: "object" } }));

/** An upstream answering tools/list with `tools` (and what `extra` adds to the result), as JSON. */
const listing =
  (names: string[], extra: Record<string, unknown> = {}): Handler =>
  (_req, res, body) => {
    const { id } = JSON.parse(body) as { id: unknown };
    const answer = { jsonrpc: "2.0", id, result: { tools: tools(...names), ...extra } };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  };

describe("a server's tools filter on calls (SPEC §7.1)", () => {
  it("answers a tools/call of an excluded tool with -32602 tool_not_allowed, sends nothing upstream, counts nothing", async () => {
    const upstream = await startUpstream(listing(["delete_all"]));
    opened.push(() => upstream.close());
    const proxy = await filteredProxy(upstream.url);
    const reply = await send(proxy.url, toolCall(7, "delete_all"));
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text), {
      jsonrpc: "2.0",
      id: 7,
      error: {
        code: -32602,
        message: 'Tool "delete_all" is not available on this server',
        data: { reason: "tool_not_allowed", tool: "delete_all" },
      },
    });
    assert.equal(upstream.seen.length, 0);
    assert.deepEqual(proxy.settled, []);
    assert.equal(proxy.circuits.get("u", "delete_all"), undefined, "no tool circuit made");
  });

  it("refuses a 2026-07-28 request the same way, its id as the client wrote it", () => {
    const { calls } = mcpCalls(["http://127.0.0.1:9/mcp"], noDeletes);
    const body = toolCall("BIG", "delete_all", {
      "io.modelcontextprotocol/protocolVersion": modernRevision,
    }).replace('"BIG"', "12345678901234567890");
    const call = calls.read(post(body), {
      "mcp-protocol-version": modernRevision,
      "mcp-method": "tools/call",
      "mcp-name": "delete_all",
    });
    const { res, sent } = capturedResponse();
    call.refuse?.(res);
    assert.equal(sent.status, 200);
    assert.match(String(sent.text), /^\{"jsonrpc":"2\.0","id":12345678901234567890,"error":\{"code":-32602,/);
    assert.equal(JSON.parse(String(sent.text)).error.data.reason, "tool_not_allowed");
  });

  it("lets an included tool's call through with its tool circuit, beside an excluded one refused", async () => {
    const upstream = await startUpstream((_req, res, body) => {
      const { id, method } = JSON.parse(body) as { id: unknown; method: string };
      const result = method === "tools/list" ? { tools: tools("read_notes") } : { content: [] };
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id, result }));
    });
    opened.push(() => upstream.close());
    const proxy = await filteredProxy(upstream.url);
    await send(proxy.url, listCall(1)); // the catalogue learns the tool
    const reply = await send(proxy.url, toolCall(2, "read_notes"));
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text).result, { content: [] });
    const refused = await send(proxy.url, toolCall(3, "delete_notes"));
    assert.equal(JSON.parse(refused.text).error?.data.reason, "tool_not_allowed");
    assert.equal(upstream.seen.length, 2);
    assert.deepEqual(proxy.settled[1]?.tool, { name: "read_notes", outcome: "success" });
    assert.equal(proxy.settled.length, 2);
  });

  it("refuses a batch holding a tools/list on a filtered server (only a lone list is filtered)", () => {
    const { calls } = mcpCalls(["http://127.0.0.1:9/mcp"], noDeletes);
    const call = calls.read(post(`[${listCall(1)},${listCall(2)}]`), {});
    const { res, sent } = capturedResponse();
    call.refuse?.(res);
    assert.equal(sent.status, 400);
    const answers = JSON.parse(String(sent.text)) as { id: number; error: { data: { reason: string } } }[];
    assert.deepEqual(
      answers.map((a) => [a.id, a.error.data.reason]),
      [
        [1, "batched_tool_list"],
        [2, "batched_tool_list"],
      ],
    );
  });

  it("makes a list filter for a lone tools/list on a filtered server only: none without a filter", () => {
    const filtered = mcpCalls(["http://127.0.0.1:9/mcp"], noDeletes).calls;
    const open = mcpCalls(["http://127.0.0.1:9/mcp"]).calls;
    assert.ok(filtered.read(post(listCall(1)), {}).bodyFilter?.() instanceof ToolListFilter);
    assert.equal(filtered.read(post(toolCall(1, "read_notes")), {}).bodyFilter, undefined);
    assert.equal(open.read(post(listCall(1)), {}).bodyFilter, undefined);
    assert.equal(open.read(post(toolCall(1, "delete_all")), {}).refuse, undefined);
  });
});

describe("a server's tools filter on tools/list answers (SPEC §7.1)", () => {
  /** Feeds `body` through a fresh filter in `pieces` chunks; what the client gets and its head. */
  function filter(
    body: string | Buffer,
    headers: IncomingHttpHeaders = { "content-type": "application/json" },
    { id = "1", maxBytes = 1 << 20, pieceBytes = 0, status = 200, budget = new BodyBudget(1 << 24) } = {},
  ) {
    const f = new ToolListFilter(noDeletes, id, budget, maxBytes);
    const head = f.head(status, { "content-length": String(Buffer.byteLength(body)), ...headers });
    const bytes = Buffer.from(body);
    const out: Buffer[] = [];
    const step = pieceBytes === 0 ? bytes.length || 1 : pieceBytes;
    for (let i = 0; i < bytes.length; i += step) {
      const piece = f.data(bytes.subarray(i, i + step));
      if (piece !== undefined) out.push(piece);
    }
    const rest = f.end();
    if (rest !== undefined) out.push(rest);
    return { head, text: Buffer.concat(out).toString("utf8") };
  }

  it("leaves excluded tools out of a JSON tools/list answer, keeping nextCursor, ttlMs and the rest", () => {
    const answer = {
      jsonrpc: "2.0",
      id: 1,
      result: {
        tools: tools("read_notes", "delete_notes", "write_notes"),
        nextCursor: "page-2",
        ttlMs: 60_000,
        resultType: "complete",
        _meta: { "example/x": 1 },
      },
    };
    const { head, text } = filter(JSON.stringify(answer));
    assert.equal(head["content-length"], undefined);
    assert.equal(head["content-type"], "application/json");
    const expected = { ...answer, result: { ...answer.result, tools: tools("read_notes", "write_notes") } };
    assert.deepEqual(JSON.parse(text), expected);
  });

  it("keeps an id past 2^53 as the upstream wrote it", () => {
    const body = `{"jsonrpc":"2.0","id":12345678901234567890,"result":{"tools":${JSON.stringify(tools("delete_x"))}}}`;
    const { text } = filter(body, undefined, { id: "12345678901234567890" });
    assert.match(text, /"id":12345678901234567890[,}]/);
    assert.deepEqual(JSON.parse(text).result.tools, []);
  });

  it("passes an answer byte for byte when the filter leaves every tool in, and an error status untouched", () => {
    const body = `{ "jsonrpc": "2.0", "id": 1, "result": { "tools": ${JSON.stringify(tools("read"))} } }`;
    assert.equal(filter(body).text, body);
    const listed = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools: tools("delete_x") } });
    const failed = filter(listed, undefined, { status: 500 });
    assert.equal(failed.text, listed);
    assert.equal(failed.head["content-length"], String(listed.length));
  });

  it("the same in an event stream, passing progress and other events unchanged and in order", () => {
    const progress = `id: 7\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\r\n\r\n`;
    const comment = ": keep-alive\n\n";
    const answer = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools: tools("delete_a", "read_b") } });
    const half = answer.indexOf(",");
    const list = `event: message\nid: 8\ndata: ${answer.slice(0, half)}\ndata: ${answer.slice(half)}\n\n`;
    const after = "data: after\n\n";
    for (const pieceBytes of [0, 1, 7]) {
      const { head, text } = filter(
        `${progress}${comment}${list}${after}`,
        { "content-type": "text/event-stream" },
        { pieceBytes },
      );
      assert.equal(head["content-length"], undefined);
      const filtered = JSON.stringify({ id: 1, jsonrpc: "2.0", result: { tools: tools("read_b") } });
      const rewritten = `event: message\nid: 8\ndata: ${filtered}\n\n`;
      // the CRLF's LF that follows a blank line's CR belongs to the next piece: the bytes are the same
      assert.equal(text, `${progress}${comment}${rewritten}${after}`, `in pieces of ${pieceBytes}`);
    }
  });

  it("answers list_too_large instead of an unfiltered list past the bound, as JSON and as an event", () => {
    const answer = JSON.stringify({ jsonrpc: "2.0", id: 3, result: { tools: tools("delete_a", "read_b") } });
    const json = filter(answer, undefined, { id: "3", maxBytes: 40, pieceBytes: 16 });
    assert.deepEqual(JSON.parse(json.text).error.data, { reason: "list_too_large" });
    assert.equal(JSON.parse(json.text).error.code, -32603);
    assert.equal(JSON.parse(json.text).id, 3);
    const stream = filter(
      `data: ${answer}\n\ndata: more\n\n`,
      { "content-type": "text/event-stream" },
      { id: "3", maxBytes: 40, pieceBytes: 16 },
    );
    assert.doesNotMatch(stream.text, /delete_a|read_b|more/);
    const data = stream.text.match(/^event: message\ndata: (.*)\n\n$/)?.[1];
    assert.equal(JSON.parse(String(data)).error.data.reason, "list_too_large");
  });

  it("answers proxy_resources when the lists held at once pass their budget, and gives the room back", () => {
    const budget = new BodyBudget(100);
    const first = new ToolListFilter(noDeletes, "1", budget);
    first.head(200, { "content-type": "application/json" });
    assert.equal(first.data(Buffer.alloc(80, 0x20)), undefined);
    assert.equal(budget.held, 80);
    const second = filter("x".repeat(40), undefined, { budget });
    assert.equal(JSON.parse(second.text).error.data.reason, "proxy_resources");
    first.end();
    assert.equal(budget.held, 0);
  });

  it("filters a gzip-coded JSON answer, and refuses one in a coding it cannot read", () => {
    const answer = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools: tools("delete_a", "read_b") } });
    const gzipped = filter(gzipSync(answer), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    assert.equal(gzipped.head["content-encoding"], undefined);
    assert.deepEqual(JSON.parse(gzipped.text).result.tools, tools("read_b"));
    const odd = filter(answer, { "content-type": "application/json", "content-encoding": "compress" });
    assert.equal(JSON.parse(odd.text).error.data.reason, "list_unreadable");
  });
});

/**
 * An SDK 1.x server (MCP 2025-11-25, stateless: a transport per request, as the SDK shows it) with
 * tools `read_notes` and `delete_notes`, answering JSON or (`json: false`) event streams.
 */
async function sdk1Server(json: boolean): Promise<{ url: string; calls: string[] }> {
  const calls: string[] = [];
  const http = createServer(async (req, res) => {
    const server = new McpServer({ name: "notes", version: "1.0.0" });
    for (const name of ["read_notes", "delete_notes"])
      server.registerTool(name, { description: name }, async () => {
        calls.push(name);
        return { content: [{ type: "text", text: name }] };
      });
    // no session ids: stateless
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: json });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  opened.push(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, calls };
}

describe("the tools filter across eras, through the proxy", () => {
  for (const json of [true, false]) {
    it(`an SDK 1.x client lists and calls only the included tools of an SDK 1.x server answering ${json ? "JSON" : "event streams"}`, async () => {
      const upstream = await sdk1Server(json);
      const proxy = await filteredProxy(upstream.url);
      const client = new Client({ name: "filtered", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/`)));
      opened.push(() => client.close());
      const listed = await client.listTools();
      assert.deepEqual(
        listed.tools.map((t) => t.name),
        ["read_notes"],
      );
      const read = await client.callTool({ name: "read_notes", arguments: {} });
      assert.deepEqual(read.content, [{ type: "text", text: "read_notes" }]);
      await assert.rejects(
        client.callTool({ name: "delete_notes", arguments: {} }),
        (error: Error & { code?: number }) => {
          assert.equal(error.code, -32602);
          assert.match(error.message, /Tool "delete_notes" is not available on this server/);
          return true;
        },
      );
      assert.deepEqual(upstream.calls, ["read_notes"]);
      // the list was judged by what the upstream sent: a success
      assert.ok(proxy.settled.every((s) => s.outcome === "success"));
    });
  }

  it("an SDK 1.x client lists and calls only the included tools of an SDK 1.x stdio server", async () => {
    const timers = new ManualTimers();
    const script = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
    const { calls, upstreams } = mcpCalls(
      ["http://127.0.0.1:9/u"],
      (tool) => tool === "echo" || tool === "pid",
      undefined,
      (u, circuit) =>
        new StdioUpstream({
          name: u.name,
          circuit,
          config: {
            command: [process.execPath, script],
            cwd: undefined,
            env: {},
            maxProcesses: 2,
            idleTimeoutMs: 60_000,
          },
          timers,
        }),
    );
    // (the stdio upstream is closed with its processes: time is stepped past their grace)
    opened.push(async () => {
      const closing = Promise.all(upstreams.map((u) => u.close()));
      for (let i = 0; i < 3; i++) await timers.advance(10_000);
      await closing;
    });
    const proxy = await startBareProxy(upstreams, { calls });
    opened.push(() => proxy.close());
    const client = new Client({ name: "filtered", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/`)));
    opened.push(() => client.close());
    const listed = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(listed.sort(), ["echo", "pid"]);
    await assert.rejects(client.callTool({ name: "crash", arguments: {} }), /not available on this server/);
    const echoed = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.equal((echoed.content as { text: string }[])[0]?.text, "hi");
  });

  it("an SDK 2.x client at 2026-07-28 lists and calls only the included tools of an SDK 2.x server", async () => {
    const upstream = await startSdk2Server("modern");
    opened.push(() => upstream.close());
    const { calls, upstreams } = mcpCalls([upstream.url], (tool) => tool !== "add" && tool !== "slow");
    const proxy = await startBareProxy(upstreams, { calls });
    opened.push(() => proxy.close());
    const client = await connectSdk2Client(`${proxy.url}/`, { pin: modernRevision });
    opened.push(() => client.close());
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("echo"));
    assert.equal(names.includes("add") || names.includes("slow"), false, names.join());
    const before = upstream.seen.length;
    await assert.rejects(
      client.callTool({ name: "add", arguments: { a: 1, b: 2 } }),
      /not available on this server/,
    );
    assert.equal(upstream.seen.length, before, "the refused call never reached the server");
  });

  it("lets go of a held list when the upstream cuts its answer short", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"jsonrpc":"2.0","id":5,"result":{"tools":[');
      setImmediate(() => res.destroy());
    });
    opened.push(() => upstream.close());
    const budget = new BodyBudget(1 << 24);
    const proxy = await filteredProxy(upstream.url, budget);
    await assert.rejects(send(proxy.url, listCall(5)));
    await until(() => proxy.settled.length === 1, "the cut answer is settled");
    assert.equal(proxy.settled[0]?.outcome, "failure");
    assert.equal(budget.held, 0);
  });

  it("answers list_too_large instead of an unfiltered list past 8 MiB, and judges the upstream by its own answer (success)", async () => {
    const padding = "x".repeat(9 * 1024 * 1024);
    const upstream = await startUpstream(listing(["delete_a", "read_b"], { _meta: { padding } }));
    opened.push(() => upstream.close());
    const proxy = await filteredProxy(upstream.url);
    const reply = await send(proxy.url, listCall(4));
    assert.equal(reply.status, 200);
    assert.ok(reply.text.length < 1024, "no list reached the client");
    const answer = JSON.parse(reply.text) as {
      id: number;
      error: { code: number; data: { reason: string } };
    };
    assert.deepEqual([answer.id, answer.error.code, answer.error.data.reason], [4, -32603, "list_too_large"]);
    assert.deepEqual(
      proxy.settled.map((s) => s.outcome),
      ["success"],
    );
  });
});
