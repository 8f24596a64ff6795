import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { loadConfig } from "../../src/config/loadConfig.ts";
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

/** A tools/list body. */
const listCall = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list" });

type Mode = "ok" | "error" | "isError" | "500";

/**
 * An MCP server whose tools answer as `tools` says: "ok" a result, "error" a -32603 error, "isError" a
 * tool execution error, "500" an HTTP 500; a tool it does not have gets an isError result, as the MCP
 * SDKs answer. It lists the tools of `tools` and `echo` (answered "ok"), as JSON or, with `sse`, as an
 * event stream (a progress notification, then the list over two data lines); `anyName`: it answers
 * every name with a result, a tool or not. Any other method gets a result.
 */
const server =
  (tools: Record<string, Mode>, { anyName = false, sse = false } = {}): Handler =>
  (_req, res, body) => {
    const { id, method, params } = JSON.parse(body) as {
      id: unknown;
      method: string;
      params?: { name?: string };
    };
    const listed: Record<string, Mode> = { echo: "ok", ...tools };
    if (method === "tools/list") {
      const list = Object.keys(listed).map((name) => ({ name, inputSchema: { type: "object" } }));
      const answer = JSON.stringify({ jsonrpc: "2.0", id, result: { tools: list } });
      if (!sse) return void res.writeHead(200, { "content-type": "application/json" }).end(answer);
      const progress = {
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: 1, progress: 1 },
      };
      const half = answer.indexOf(",");
      return void res
        .writeHead(200, { "content-type": "text/event-stream" })
        .end(
          `data: ${JSON.stringify(progress)}\n\nevent: message\ndata: ${answer.slice(0, half)}\ndata: ${answer.slice(half)}\n\n`,
        );
    }
    const name = params?.name ?? "";
    const unknown: Mode = anyName ? "ok" : "isError";
    const mode = method === "tools/call" ? (listed[name] ?? unknown) : "ok";
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

/** `toolCircuit`: the keys of `[proxy.tool_circuit]`; `toml`: added after them. */
async function behind(handlers: Record<string, Handler>, toml = "", toolCircuit = "failure_threshold = 2") {
  const fleet = await startFleet(handlers, `[proxy.tool_circuit]\n${toolCircuit}\n${toml}`);
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
  /** A tools/list through the proxy (the upstream it lands on shows its tools): its answer's text. */
  const list = async () => {
    const res = await request(fleet.proxy.url, { method: "POST", body: listCall(100) });
    return res.body.text();
  };
  return { fleet, call, upstream, tool, list };
}

describe("tool circuits (SPEC §3.2)", () => {
  it("opens a failing tool's circuit alone: its calls get a readable isError answer, other tools work", async () => {
    const { call, upstream, tool, list } = await behind({ u: server({ query: "error" }) });
    await list();
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
      [2, 0],
      "the tool's failing errors were not the server's: only the list and the echo call counted",
    );
  });

  it("counts an isError result as the tool's failure and the upstream's success", async () => {
    const { call, upstream, tool, list } = await behind({ u: server({ flaky: "isError" }) });
    await list();
    await call(toolCall(1, "flaky"));
    assert.deepEqual([tool("u", "flaky")?.failedRequests, tool("u", "flaky")?.totalRequests], [1, 1]);
    assert.deepEqual([upstream("u")?.failedRequests, upstream("u")?.totalRequests], [0, 2]);
  });

  it("lets five isError results in a row leave the tool's circuit closed below minimum_requests, while five failing errors in a row open it", async () => {
    const { call, tool, list } = await behind(
      { u: server({ read_file: "isError", query: "error" }) },
      "",
      "failure_threshold = 5\nminimum_requests = 10",
    );
    await list();
    // one confused client asking for paths outside the allowed folder: the server answers isError
    for (let i = 1; i <= 5; i++) await call(toolCall(i, "read_file"));
    const readFile = tool("u", "read_file");
    assert.deepEqual(
      [readFile?.state, readFile?.failedRequests, readFile?.consecutiveFailures],
      ["closed", 5, 0],
      "counted toward the rate, not as consecutive failures",
    );
    for (let i = 6; i <= 10; i++) await call(toolCall(i, "query"));
    const query = tool("u", "query");
    assert.deepEqual([query?.state, query?.totalRequests], ["open", 5], "opened by consecutive failures");
  });

  it("opens a tool's circuit when its isError rate reaches the threshold over minimum_requests calls", async () => {
    const modes: Record<string, Mode> = { lookup: "ok" };
    const { fleet, call, tool, list } = await behind(
      { u: server(modes) },
      "",
      "failure_threshold = 5\nminimum_requests = 10\nfailure_rate_threshold = 0.6",
    );
    await list();
    for (let i = 1; i <= 4; i++) await call(toolCall(i, "lookup"));
    const reasons: string[] = [];
    fleet.proxy.breakwater.circuits.get("u", "lookup")?.breaker.onStateChange((c) => reasons.push(c.reason));
    modes["lookup"] = "isError"; // the tool's backend died: every call answers isError
    for (let i = 5; i <= 9; i++) await call(toolCall(i, "lookup"));
    assert.equal(tool("u", "lookup")?.state, "closed", "5 failed of 9: below minimum_requests");
    await call(toolCall(10, "lookup"));
    assert.equal(tool("u", "lookup")?.state, "open", "6 failed of 10: the rate reached 0.6");
    assert.deepEqual(reasons, ["failure_rate"]);
  });

  it("feeds a transport failure (a 500) to both circuits", async () => {
    const { call, upstream, tool, list } = await behind({ u: server({ broken: "500" }) });
    await list();
    await call(toolCall(1, "broken"));
    assert.equal(tool("u", "broken")?.failedRequests, 1);
    assert.equal(upstream("u")?.failedRequests, 1);
  });

  it("fails a sessionless call over to an upstream whose tool circuit admits it", async () => {
    const { call, tool, upstream, list } = await behind(
      { a: server({ query: "error" }), b: server({ query: "ok" }) },
      '[proxy]\nload_balancing = "failover"',
    );
    await list(); // a's list (failover: b is not asked while a admits)
    await call(toolCall(1, "query"));
    await call(toolCall(2, "query"));
    assert.equal(tool("a", "query")?.state, "open");
    const moved = await call(toolCall(3, "query"));
    assert.deepEqual(moved.json.result?.content, [{ type: "text", text: "done" }], "b answered");
    assert.equal(upstream("b")?.totalRequests, 1);
    assert.equal(tool("b", "query"), undefined, "b had not shown query: its circuit alone guarded the call");
    await call(toolCall(4, "query"));
    assert.equal(tool("b", "query")?.totalRequests, 1, "b's plain result showed query exists");
  });

  it("keeps at most max_tools circuits per upstream: a longer list is kept up to it, further tools have the upstream's only", async () => {
    const { fleet, call, tool, list } = await behind(
      { u: server({ first: "ok", second: "ok" }) },
      "max_tools = 2",
    );
    await list(); // echo, first, second
    await call(toolCall(1, "second"));
    await call(toolCall(2, "first"));
    await call(toolCall(3, "echo"));
    assert.equal(tool("u", "first")?.totalRequests, 1);
    assert.equal(tool("u", "echo")?.totalRequests, 1);
    assert.equal(tool("u", "second"), undefined);
    const tools = [...fleet.proxy.breakwater.circuits.all()].filter((c) => c.tool !== undefined);
    assert.equal(tools.length, 2);
  });

  it("has no tool circuits with enabled = false: a failing tool's errors then count for the upstream", async () => {
    const { call, tool, upstream } = await behind(
      { u: server({ query: "error" }) },
      "enabled = false\n[proxy.circuit_breaker]\nfailure_threshold = 3",
    );
    await call(listCall(100));
    for (let i = 1; i <= 3; i++) await call(toolCall(i, "query"));
    assert.equal(tool("u", "query"), undefined);
    assert.equal(upstream("u")?.state, "open");
  });

  it("refuses a 2026-07-28 request whose Mcp-Method or Mcp-Name disagrees with its body: 400, -32020, not forwarded", async () => {
    const { fleet, call } = await behind({ u: server({}) });
    const modern = (id: number, tool: string) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: {
          name: tool,
          arguments: {},
          _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" },
        },
      });
    const version = { "mcp-protocol-version": "2026-07-28" };
    const forged = await call(modern(7, "read_file"), {
      ...version,
      "mcp-method": "tools/call",
      "mcp-name": "delete_file",
    });
    assert.equal(forged.status, 400);
    assert.deepEqual([forged.json.id, forged.json.error?.code], [7, -32020]);
    const method = await call(modern(8, "x"), { ...version, "mcp-method": "tools/list", "mcp-name": "x" });
    assert.equal(method.status, 400);
    assert.equal(fleet.upstreams["u"]?.seen.length, 0);
    const agreeing = await call(modern(9, "x"), {
      ...version,
      "mcp-method": "tools/call",
      "mcp-name": `=?base64?${Buffer.from("x").toString("base64")}?=`,
    });
    assert.equal(agreeing.status, 200);
  });

  it("forwards an earlier-era request whatever its Mcp-* headers say: they belong to 2026-07-28", async () => {
    const { fleet, call } = await behind({ u: server({}) });
    const reply = await call(toolCall(7, "read_file"), {
      "mcp-method": "tools/list",
      "mcp-name": "delete_file",
    });
    assert.equal(reply.status, 200);
    assert.equal(fleet.upstreams["u"]?.seen.length, 1);
  });
});

describe("tool circuits only for tools the upstream has shown (SPEC §3.2)", () => {
  /** `count` tools/call with names of `length` characters, a few at a time. */
  async function junk(call: (body: string) => Promise<unknown>, count: number, length = 12) {
    for (let i = 0; i < count; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(count, i + 50); j++)
        batch.push(call(toolCall(j, `junk${String(j).padStart(length - 4, "0")}`)));
      await Promise.all(batch);
    }
  }
  const toolCircuits = (fleet: Awaited<ReturnType<typeof startFleet>>) =>
    [...fleet.proxy.breakwater.circuits.all()].filter((c) => c.tool !== undefined).length;

  it("makes a tool's circuit on its first call once a tools/list answer (JSON) showed it; a name not listed gets none", async () => {
    const { call, tool, upstream, list } = await behind({ u: server({ query: "ok" }) });
    await call(toolCall(1, "query"));
    assert.equal(tool("u", "query"), undefined, "not listed yet: the upstream's circuit alone");
    await list();
    await call(toolCall(2, "query"));
    assert.equal(tool("u", "query")?.totalRequests, 1);
    const unlisted = await call(toolCall(3, "made_up"));
    assert.equal(unlisted.json.result?.isError, true, "forwarded: the server said it has no such tool");
    assert.equal(tool("u", "made_up"), undefined);
    assert.equal(upstream("u")?.totalRequests, 4);
  });

  it("learns the tools of a tools/list answered as an event stream", async () => {
    const { call, tool, list } = await behind({ u: server({ query: "ok" }, { sse: true }) });
    assert.match(await list(), /event: message/, "the list came as an event stream");
    await call(toolCall(1, "query"));
    await call(toolCall(2, "other"));
    assert.equal(tool("u", "query")?.totalRequests, 1);
    assert.equal(tool("u", "other"), undefined, "not in the list");
  });

  it("leaves a listed tool its circuit after 1,000 made-up names, and the operator can force it open", async () => {
    const { fleet, call, tool, list } = await behind({ u: server({ query: "ok" }) });
    await junk(call, 1_000);
    assert.equal(toolCircuits(fleet), 0, "the server answered them all: no such tool");
    await list();
    await call(toolCall(1, "query"));
    assert.equal(tool("u", "query")?.totalRequests, 1);
    const forced = await request(`${fleet.proxy.adminUrl}/circuits/u/tools/query/open`, { method: "POST" });
    assert.equal(forced.statusCode, 200);
    await forced.body.text();
    const refused = await call(toolCall(2, "query"));
    const meta = refused.json.result?._meta?.["breakwater/circuit"] as { state?: string } | undefined;
    assert.equal(meta?.state, "forced_open");
  });

  it("gives a listed tool a circuit in the place of a made-up name's when a server answered every name", async () => {
    const { fleet, call, tool, list } = await behind(
      { u: server({ query: "ok" }, { anyName: true }) },
      "max_tools = 100",
    );
    await junk(call, 100); // a plain result for each: each learnt, a circuit on its next call
    await junk(call, 100);
    assert.equal(toolCircuits(fleet), 100, "max_tools holds");
    await (await request(`${fleet.proxy.adminUrl}/metrics`)).body.text(); // each has its series now
    await list();
    await call(toolCall(1, "query"));
    assert.equal(tool("u", "query")?.totalRequests, 1, "the listed tool has room");
    assert.equal(toolCircuits(fleet), 100);
    const metrics = await (await request(`${fleet.proxy.adminUrl}/metrics`)).body.text();
    for (const series of [
      /^breakwater_tool_circuit_state\{.*state="closed"\}/gm,
      /^breakwater_tool_requests_total\{.*outcome="success"\}/gm,
    ])
      assert.equal(metrics.match(series)?.length, 100, "the circuit that made room left /metrics too");
  });

  it("makes no circuit for a name of 4 MB, and forwards the call, judged by the upstream's circuit", async () => {
    const { fleet, call, upstream, list } = await behind({ u: server({}) });
    await list();
    const name = "a".repeat(4_000_000);
    const answered = await call(toolCall(1, name));
    assert.equal(answered.json.result?.isError, true, "the server answered it");
    assert.equal(fleet.upstreams["u"]?.seen.length, 2);
    assert.equal(upstream("u")?.totalRequests, 2);
    assert.equal(toolCircuits(fleet), 0);
  });

  it("keeps the number of circuits as it was after calls with names of 1 MB", async () => {
    const { fleet, call, list } = await behind({ u: server({}, { anyName: true }) });
    await list();
    await call(toolCall(1, "echo"));
    const before = toolCircuits(fleet);
    for (let i = 0; i < 10; i++) await call(toolCall(i, `${i}`.padEnd(1_000_000, "x")));
    for (let i = 0; i < 10; i++) await call(toolCall(i, `${i}`.padEnd(1_000_000, "x"))); // answered once already
    assert.equal(toolCircuits(fleet), before);
  });
});

describe("what an upstream has shown of its tools, across a reload (SPEC §6.3)", () => {
  it("keeps the tools an upstream listed while its tool circuits are kept, and forgets them when they are not", async () => {
    const { fleet, call, tool, list } = await behind({ u: server({ query: "ok", search: "ok" }) });
    await list();
    await call(toolCall(1, "query"));
    const breakwater = fleet.proxy.breakwater;
    const url = fleet.upstreams["u"]?.url as string;
    const dir = mkdtempSync(join(tmpdir(), "breakwater-tools-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const reload = (toml: string) => {
      const configPath = join(dir, "breakwater.toml");
      writeFileSync(configPath, `${toml}\n[[upstreams]]\nname = "u"\nurl = "${url}"\n`);
      const flags = { configPath, listen: "127.0.0.1:0", adminListen: "127.0.0.1:0" };
      breakwater.reload(loadConfig(flags, {}).config);
    };
    reload("[proxy.tool_circuit]\nfailure_threshold = 2\n[server]\nmax_body_bytes = 9000000");
    await call(toolCall(2, "search"));
    assert.equal(tool("u", "search")?.totalRequests, 1, "listed before the reload: known after it");
    reload("[proxy.tool_circuit]\nfailure_threshold = 3");
    await call(toolCall(3, "query"));
    assert.equal(tool("u", "query"), undefined, "tool circuits made anew: to be learnt anew");
  });
});
