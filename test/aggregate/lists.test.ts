import assert from "node:assert/strict";
import { test } from "node:test";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { base, type Listed, setup, tools, unwatched } from "./aggregateSetup.ts";
import { FakePoolClient, FakeServer, poolsOf, registryOf } from "./fakePools.ts";

test("a 2026-07-28 server is asked for its lists with the _meta envelope and the MCP-Protocol-Version and Mcp-Method headers", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers } = setup(t, [a]);
  await timers.advance(10);
  const asked = a.asked.find((q) => q.method === "tools/list");
  assert.ok(asked !== undefined);
  const meta = (asked.message["params"] as { _meta: Record<string, unknown> })._meta;
  assert.equal(meta["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
  assert.deepEqual(meta["io.modelcontextprotocol/clientCapabilities"], {});
  assert.ok(meta["io.modelcontextprotocol/clientInfo"]);
  assert.deepEqual(asked.options?.headers, {
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/list",
  });
  assert.equal(asked.options?.bound, undefined, "balanced over the pool");
});

test("every page of a server's list is followed", async (t) => {
  const a = new FakeServer("a");
  a.setTools(...Array.from({ length: 25 }, (_, i) => `t${i}`));
  a.pageSize = 10;
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  assert.equal((await tools(aggregate)).names.length, 25);
  const cursors = a.asked
    .filter((q) => q.method === "tools/list")
    .map((q) => (q.message["params"] as { cursor?: string }).cursor);
  assert.deepEqual(cursors.slice(0, 3), [undefined, "10", "20"]);
});

test("a lost earlier-era session (404) is opened again and the list asked there once", async (t) => {
  const a = unwatched("a");
  a.era = "earlier";
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  a.loseSession();
  a.setTools("x", "y");
  assert.deepEqual((await tools(aggregate)).names, ["a__x", "a__y"]);
  assert.equal(a.count("initialize"), 2);
  const lists = a.asked.filter((q) => q.method === "tools/list");
  assert.equal(lists.at(-1)?.options?.headers?.["mcp-session-id"], a.session);
});

test("a stale list is fetched again on the next list, once for clients asking together", async (t) => {
  const a = unwatched("a");
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  const before = a.count("tools/list");
  a.setTools("x", "y");
  const answers = await Promise.all([tools(aggregate), tools(aggregate), tools(aggregate)]);
  assert.equal(a.count("tools/list"), before + 1, "single flight");
  for (const answer of answers) assert.deepEqual(answer.names, ["a__x", "a__y"]);
});

test("a list younger than its ttlMs is fresh: no server is asked for it", async (t) => {
  const a = unwatched("a");
  a.setTools("x");
  a.ttlMs = 5_000;
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  const before = a.count("tools/list");
  await timers.advance(4_000);
  await tools(aggregate);
  assert.equal(a.count("tools/list"), before);
  await timers.advance(1_000);
  await tools(aggregate);
  assert.equal(a.count("tools/list"), before + 1);
});

test("a client waits at most list_timeout_ms, then gets the last good list as cached; the late answer still counts", async (t) => {
  const a = unwatched("a");
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  a.holdLists = true;
  a.setTools("x", "y");
  let answered: Listed | undefined;
  void tools(aggregate).then((listed) => {
    answered = listed;
  });
  const got = (): Listed | undefined => answered;
  await timers.advance(1_999);
  assert.equal(got(), undefined);
  await timers.advance(1);
  assert.deepEqual(got()?.names, ["a__x"]);
  assert.equal(got()?.servers["a"]?.listed, "cached");
  a.release();
  await timers.advance(10);
  assert.equal(aggregate.view().servers[0]?.listed, "current");
  assert.equal(aggregate.view().servers[0]?.tools, 2, "the late answer updated the list");
});

test("a server whose list fetch fails is cached for the grace, then omitted", async (t) => {
  const a = unwatched("a");
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  a.listStatus = 500;
  assert.equal((await tools(aggregate)).servers["a"]?.listed, "cached");
  assert.deepEqual((await tools(aggregate)).names, ["a__x"]);
  assert.equal(aggregate.view().servers[0]?.graceLeftMs, 10_000);
  await timers.advance(10_000);
  const omitted = await tools(aggregate);
  assert.equal(omitted.servers["a"]?.listed, "omitted");
  assert.deepEqual(omitted.names, []);
  a.listStatus = undefined;
  assert.deepEqual((await tools(aggregate)).names, ["a__x"], "a fetch that succeeds lists it again");
});

test("with grace_secs 0 an unavailable server is omitted at once", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a], { graceMs: 0 });
  await timers.advance(10);
  a.open();
  assert.equal((await tools(aggregate)).servers["a"]?.listed, "omitted");
  a.close();
  await timers.advance(10);
  assert.equal((await tools(aggregate)).servers["a"]?.listed, "current");
});

test("a server that answers Breakwater's lists 401 is omitted with reason unauthorized, with one warning", async (t) => {
  const a = unwatched("a");
  a.setTools("x");
  a.listStatus = 401;
  const { timers, aggregate, lines } = setup(t, [a]);
  await timers.advance(10);
  await tools(aggregate);
  const listed = await tools(aggregate);
  assert.deepEqual(listed.names, []);
  assert.deepEqual(listed.servers["a"], { state: "closed", listed: "omitted", reason: "unauthorized" });
  assert.equal(lines.filter((l) => l["level"] === 40 && String(l["msg"]).includes("401/403")).length, 1);
});

test("a pool client that throws leaves the server unlisted, and nothing rejects unhandled", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const poolClient = new FakePoolClient().add(a);
  poolClient.request = async () => {
    throw new Error("the pool client broke");
  };
  const timers = new ManualTimers();
  const aggregate = new Aggregate({
    poolClient,
    circuits: registryOf(a),
    timers,
    logger: capturedLog().logger,
  });
  t.after(() => aggregate.close());
  aggregate.reconfigure(base, poolsOf(a));
  await timers.advance(60_000);
  const listed = await tools(aggregate);
  assert.deepEqual(listed.names, []);
  assert.equal(listed.servers["a"]?.listed, "omitted");
});

test("a server's items reach the merged list as it sent them, unknown fields too, only the name prefixed", async (t) => {
  const a = new FakeServer("a");
  const sent = {
    name: "x",
    inputSchema: { type: "object" },
    annotations: { readOnlyHint: true },
    "x-vendor": [1, { y: 2 }],
  };
  a.lists.tools = [sent];
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  const answer = await aggregate.answer("tools", "modern", undefined);
  assert.ok("result" in answer);
  assert.deepEqual(JSON.parse(answer.result).tools, [{ ...sent, name: "a__x" }]);
});

test("a list the SDK's schema refuses is a failed fetch; a list the server lacks (-32601, or no capability) is empty", async (t) => {
  const a = unwatched("a");
  a.lists.tools = [{ name: "no input schema" }];
  a.capabilities = { tools: {}, prompts: {} };
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  const listed = await tools(aggregate);
  assert.deepEqual(listed.names, []);
  assert.equal(
    listed.servers["a"]?.listed,
    "cached",
    "its (empty) prompts were listed; the tools fetch failed",
  );
  assert.equal(a.count("resources/list"), 0, "no resources capability: not asked");
  a.lists.tools = [{ name: "x", inputSchema: { type: "object" } }];
  const fixed = await tools(aggregate);
  assert.deepEqual(fixed.names, ["a__x"]);
  assert.equal(fixed.servers["a"]?.listed, "current");
  a.missing.add("prompts/list");
  aggregate.serverSaidChanged("a", "prompts");
  await timers.advance(10);
  assert.equal(a.count("prompts/list"), 2);
  assert.equal(aggregate.view().servers[0]?.listed, "current", "a -32601 is no failure");
  assert.deepEqual((await tools(aggregate, "prompts")).names, []);
});

test("a server without a watch is asked again when its circuit closes, and listed current with no client asking", async (t) => {
  const a = unwatched("a");
  a.setTools("x");
  a.ttlMs = 3_600_000;
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  a.open();
  await timers.advance(10_000);
  assert.equal(aggregate.view().servers[0]?.listed, "omitted");
  const before = a.count("tools/list");
  a.close();
  await timers.advance(10);
  assert.equal(a.count("tools/list"), before + 1);
  assert.equal(aggregate.view().servers[0]?.listed, "current");
});
