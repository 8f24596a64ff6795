import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import type { JsonRpcReply } from "../support/jsonRpcReply.ts";
import { startFleet } from "../support/proxy.ts";
import type { Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** A tools/call body naming `tool`. */
const toolCall = (id: number, tool: string) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: tool, arguments: {} } });

/**
 * An MCP server whose tools answer as `tools` says: "ok" a result, "error" a -32603 error, "isError" a
 * tool execution error, "500" an HTTP 500; any other method gets a result.
 */
const server =
  (tools: Record<string, "ok" | "error" | "isError" | "500">): Handler =>
  (_req, res, body) => {
    const { id, method, params } = JSON.parse(body) as {
      id: unknown;
      method: string;
      params?: { name?: string };
    };
    const mode = method === "tools/call" ? (tools[params?.name ?? ""] ?? "ok") : "ok";
    if (mode === "500") return void res.writeHead(500).end();
    const payload =
      mode === "error"
        ? { error: { code: -32603, message: "backend down" } }
        : {
            result: {
              content: [{ type: "text", text: "done" }],
              ...(mode === "isError" ? { isError: true } : {}),
            },
          };
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ jsonrpc: "2.0", id, ...payload }));
  };

async function behind(handlers: Record<string, Handler>, toml = "") {
  const fleet = await startFleet(handlers, `[proxy.tool_circuit]\nfailure_threshold = 2\n${toml}`);
  opened.push(fleet.close);
  const call = async (body: string, headers: Record<string, string> = {}) => {
    const res = await request(fleet.proxy.url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: (text === "" ? {} : JSON.parse(text)) as JsonRpcReply };
  };
  const circuits = fleet.proxy.breakwater.circuits;
  const upstream = (name: string) => circuits.get(name)?.breaker.metrics();
  const tool = (name: string, t: string) => circuits.get(name, t)?.breaker.metrics();
  return { fleet, call, upstream, tool };
}

describe("tool circuits (SPEC §3.2)", () => {
  it("opens a failing tool's circuit alone: its calls get a readable isError answer, other tools work", async () => {
    const { call, upstream, tool } = await behind({ u: server({ query: "error" }) });
    for (let i = 1; i <= 2; i++) {
      const passed = await call(toolCall(i, "query"));
      assert.equal(passed.json.error?.code, -32603, "the upstream's errors pass through unchanged");
    }
    assert.equal(tool("u", "query")?.state, "open");
    const refused = await call(toolCall(3, "query"));
    assert.equal(refused.status, 200);
    assert.equal(refused.json.id, 3);
    assert.equal(refused.json.result?.isError, true);
    assert.match(
      refused.json.result?.content?.[0]?.text ?? "",
      /Tool "query" is temporarily unavailable.*Try again in \d+ s/,
    );
    assert.deepEqual(refused.json.result?._meta?.["breakwater/circuit"], {
      upstream: "u",
      tool: "query",
      state: "open",
      retryAfterMs: 30_000,
    });
    assert.deepEqual((await call(toolCall(4, "echo"))).json.result?.content, [
      { type: "text", text: "done" },
    ]);
    assert.equal(upstream("u")?.state, "closed");
    assert.deepEqual(
      [upstream("u")?.totalRequests, upstream("u")?.failedRequests],
      [1, 0],
      "the tool's failing errors were not the server's: only the echo call counted",
    );
  });

  it("counts an isError result as the tool's failure and the upstream's success", async () => {
    const { call, upstream, tool } = await behind({ u: server({ flaky: "isError" }) });
    await call(toolCall(1, "flaky"));
    assert.deepEqual([tool("u", "flaky")?.failedRequests, tool("u", "flaky")?.totalRequests], [1, 1]);
    assert.deepEqual([upstream("u")?.failedRequests, upstream("u")?.totalRequests], [0, 1]);
  });

  it("feeds a transport failure (a 500) to both circuits", async () => {
    const { call, upstream, tool } = await behind({ u: server({ broken: "500" }) });
    await call(toolCall(1, "broken"));
    assert.equal(tool("u", "broken")?.failedRequests, 1);
    assert.equal(upstream("u")?.failedRequests, 1);
  });

  it("fails a sessionless call over to an upstream whose tool circuit admits it", async () => {
    const { call, tool } = await behind(
      { a: server({ query: "error" }), b: server({}) },
      '[proxy]\nload_balancing = "failover"',
    );
    await call(toolCall(1, "query"));
    await call(toolCall(2, "query"));
    assert.equal(tool("a", "query")?.state, "open");
    const moved = await call(toolCall(3, "query"));
    assert.deepEqual(moved.json.result?.content, [{ type: "text", text: "done" }], "b answered");
    assert.equal(tool("b", "query")?.totalRequests, 1);
  });

  it("keeps at most max_tools circuits per upstream; further tools have the upstream's only", async () => {
    const { fleet, call, tool } = await behind({ u: server({}) }, "max_tools = 1");
    await call(toolCall(1, "first"));
    await call(toolCall(2, "second"));
    assert.equal(tool("u", "first")?.totalRequests, 1);
    assert.equal(tool("u", "second"), undefined);
    const tools = [...fleet.proxy.breakwater.circuits.all()].filter((c) => c.tool !== undefined);
    assert.equal(tools.length, 1);
  });

  it("has no tool circuits with enabled = false: a failing tool's errors then count for the upstream", async () => {
    const { call, tool, upstream } = await behind(
      { u: server({ query: "error" }) },
      "enabled = false\n[proxy.circuit_breaker]\nfailure_threshold = 3",
    );
    for (let i = 1; i <= 3; i++) await call(toolCall(i, "query"));
    assert.equal(tool("u", "query"), undefined);
    assert.equal(upstream("u")?.state, "open");
  });

  it("refuses a request whose Mcp-Method or Mcp-Name disagrees with its body: 400, -32020, not forwarded", async () => {
    const { fleet, call } = await behind({ u: server({}) });
    const forged = await call(toolCall(7, "read_file"), {
      "mcp-method": "tools/call",
      "mcp-name": "delete_file",
    });
    assert.equal(forged.status, 400);
    assert.deepEqual([forged.json.id, forged.json.error?.code], [7, -32020]);
    const method = await call(toolCall(8, "x"), { "mcp-method": "tools/list" });
    assert.equal(method.status, 400);
    assert.equal(fleet.upstreams["u"]?.seen.length, 0);
    const agreeing = await call(toolCall(9, "x"), {
      "mcp-method": "tools/call",
      "mcp-name": `=?base64?${Buffer.from("x").toString("base64")}?=`,
    });
    assert.equal(agreeing.status, 200);
  });
});
