import assert from "node:assert/strict";
import { test } from "node:test";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import type { ListKind } from "../../src/aggregate/contracts.ts";
import type { AggregateConfig } from "../../src/config/Config.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { FakePoolClient, FakeServer, poolsOf, registryOf } from "./fakePools.ts";

const base: AggregateConfig = {
  route: "/mcp",
  servers: ["a"],
  separator: "__",
  graceMs: 10_000,
  listTimeoutMs: 2_000,
};

/** An aggregate over fake servers, on manual time, closed when the test ends. */
function setup(
  t: { after(fn: () => void): void },
  servers: FakeServer[],
  config: Partial<AggregateConfig> = {},
) {
  const timers = new ManualTimers(1_000_000);
  const log = capturedLog();
  const poolClient = new FakePoolClient().add(...servers);
  const aggregate = new Aggregate({
    poolClient,
    circuits: registryOf(...servers),
    timers,
    logger: log.logger,
    random: () => 0,
  });
  t.after(() => aggregate.close());
  aggregate.reconfigure({ ...base, servers: servers.map((s) => s.name), ...config }, poolsOf(...servers));
  return { timers, aggregate, lines: log.lines, poolClient };
}

interface Listed {
  readonly names: string[];
  readonly servers: Record<string, { listed: string; reason?: string }>;
}

async function tools(aggregate: Aggregate, kind: ListKind = "tools"): Promise<Listed> {
  const answer = await aggregate.answer(kind, "earlier", undefined);
  assert.ok("result" in answer, JSON.stringify(answer));
  const result = JSON.parse(answer.result);
  const items = result[kind] as { name?: string; uri?: string }[];
  const named = kind === "tools" || kind === "prompts";
  return {
    names: items.map((i) => (named ? i.name : i.uri) ?? ""),
    servers: result._meta["breakwater/servers"],
  };
}

/** A server that does not say when its tools change: its lists are fresh for their ttlMs only. */
function unwatched(name: string): FakeServer {
  const server = new FakeServer(name);
  server.capabilities = { tools: {} };
  return server;
}

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

test("an earlier-era server is asked on Breakwater's own session (initialize, initialized, then lists), its GET stream the watch", async (t) => {
  const a = new FakeServer("a");
  a.era = "earlier";
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  assert.deepEqual(a.asked.map((q) => q.method).slice(0, 2), ["initialize", "notifications/initialized"]);
  assert.equal(a.count("initialize"), 1, "one session for lists and watch");
  const list = a.asked.find((q) => q.method === "tools/list");
  assert.equal(list?.options?.headers?.["mcp-session-id"], a.session);
  assert.equal(list?.options?.bound, a.upstreams[0]);
  assert.equal(
    (list?.message["params"] as { _meta?: unknown } | undefined)?._meta,
    undefined,
    "no modern envelope",
  );
  assert.equal(a.count("GET"), 1);
  assert.deepEqual((await tools(aggregate)).names, ["a__x"]);
  await timers.advance(2_000); // the GET stream stood: lists are fresh until told
  const asked = a.count("tools/list");
  await timers.advance(60_000);
  await tools(aggregate);
  assert.equal(a.count("tools/list"), asked);
  a.setTools("x", "y");
  a.notify("notifications/tools/list_changed");
  await timers.advance(10);
  assert.deepEqual((await tools(aggregate)).names, ["a__x", "a__y"]);
});

test("a request an earlier-era server sends on Breakwater's GET stream is answered -32601 on the same session", async (t) => {
  const a = new FakeServer("a");
  a.era = "earlier";
  const { timers } = setup(t, [a]);
  await timers.advance(10);
  a.askClient("sampling/createMessage", 7);
  await timers.advance(10);
  const answer = a.asked.find((q) => q.method === "response");
  assert.deepEqual(answer?.message["id"], 7);
  assert.equal((answer?.message["error"] as { code: number } | undefined)?.code, -32601);
  assert.equal(answer?.options?.headers?.["mcp-session-id"], a.session);
  assert.equal(answer?.options?.bound, a.upstreams[0]);
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

test("a watch that ends is opened again after a backoff growing from 1 s to 30 s", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers } = setup(t, [a]);
  await timers.advance(10);
  assert.equal(a.count("subscriptions/listen"), 1);
  a.open(); // the listens that follow are refused
  a.endStreams();
  const opened: number[] = [];
  const start = timers.now();
  for (let i = 0; i < 8; i++) {
    const before = a.count("server/discover") + a.count("subscriptions/listen");
    while (a.count("server/discover") + a.count("subscriptions/listen") === before) await timers.advance(100);
    opened.push(timers.now() - start);
  }
  const gaps = opened.map((at, i) => at - (opened[i - 1] ?? 0));
  // random() = 0: half of each base, 1 s doubling to at most 30 s
  assert.deepEqual(gaps, [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  a.close(); // the circuit closes: re-opened at once, not at the backoff's end
  await timers.advance(10);
  assert.equal(a.standing.size, 1);
});

test("a watch that ends right after each acknowledgement is opened again no faster than the backoff; one that stood 30 s starts it over", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers } = setup(t, [a]);
  await timers.advance(10);
  const opened: number[] = [];
  const start = timers.now();
  for (let i = 0; i < 4; i++) {
    const before = a.count("subscriptions/listen");
    a.endStreams();
    while (a.count("subscriptions/listen") === before) await timers.advance(100);
    opened.push(timers.now() - start);
  }
  assert.deepEqual(
    opened.map((at, i) => at - (opened[i - 1] ?? 0)),
    [500, 1_000, 2_000, 4_000],
  );
  await timers.advance(30_000); // it stands long enough this time
  const before = a.count("subscriptions/listen");
  const ended = timers.now();
  a.endStreams();
  while (a.count("subscriptions/listen") === before) await timers.advance(100);
  assert.equal(timers.now() - ended, 500);
});

test("a change the server says on a call's stream refetches its list", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  a.setTools("x", "y");
  aggregate.serverSaidChanged("a", "tools");
  await timers.advance(10);
  assert.equal(aggregate.view().servers[0]?.tools, 2);
});

test("capabilities: lists with listChanged always; subscribe, completions and logging once a server advertised them, for good", async (t) => {
  const a = new FakeServer("a");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  assert.deepEqual(aggregate.capabilities(), {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { listChanged: true },
  });
  const b = new FakeServer("b");
  b.era = "earlier";
  b.capabilities = { resources: { subscribe: true }, completions: {}, logging: {} };
  const poolClient = new FakePoolClient().add(a, b);
  const timers2 = new ManualTimers();
  const both = new Aggregate({
    poolClient,
    circuits: registryOf(a, b),
    timers: timers2,
    logger: capturedLog().logger,
  });
  t.after(() => both.close());
  both.reconfigure({ ...base, servers: ["a", "b"] }, poolsOf(a, b));
  await timers2.advance(10);
  const learnt = {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { listChanged: true, subscribe: true },
    completions: {},
    logging: {},
  };
  assert.deepEqual(both.capabilities(), learnt);
  both.reconfigure({ ...base, servers: ["a"] }, poolsOf(a));
  assert.deepEqual(both.capabilities(), learnt, "sticky");
});

test("reconfigure: a kept server keeps its lists and watch, a removed one leaves the lists with one notification, a new one starts", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const b = new FakeServer("b");
  b.setTools("y");
  const c = new FakeServer("c");
  c.setTools("z");
  const poolClient = new FakePoolClient().add(a, b, c);
  const timers = new ManualTimers(1_000_000);
  const aggregate = new Aggregate({
    poolClient,
    circuits: registryOf(a, b, c),
    timers,
    logger: capturedLog().logger,
  });
  t.after(() => aggregate.close());
  aggregate.reconfigure({ ...base, servers: ["a", "b"] }, poolsOf(a, b));
  await timers.advance(2_000);
  const told: ListKind[] = [];
  aggregate.onChange(new Set(["tools", "prompts", "resources", "resourceTemplates"]), (kind) =>
    told.push(kind),
  );
  const asked = a.asked.length;
  aggregate.reconfigure({ ...base, servers: ["a", "c"] }, poolsOf(a, c));
  await timers.advance(10);
  assert.equal(a.asked.length, asked, "a kept server is asked nothing again");
  assert.equal(a.standing.size, 1, "its watch stands on");
  assert.equal(b.standing.size, 0, "the removed server's watch is closed");
  assert.equal(c.standing.size, 1, "the new server watched");
  assert.deepEqual((await tools(aggregate)).names, ["a__x", "c__z"]);
  assert.deepEqual(told, ["tools"], "b leaving and c coming within a second: one notification");
  assert.deepEqual(
    aggregate.view().servers.map((s) => s.name),
    ["a", "c"],
  );
});

test("a new separator renames every listed name, told once", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(2_000);
  const told: ListKind[] = [];
  aggregate.onChange(new Set(["tools"]), (kind) => told.push(kind));
  aggregate.reconfigure({ ...base, separator: "." }, poolsOf(a));
  assert.deepEqual((await tools(aggregate)).names, ["a.x"]);
  assert.deepEqual(told, ["tools"]);
});

test("view tells per server what the merged lists hold: listed, counts, left-out names, grace left", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x", "bad name");
  a.capabilities = { tools: { listChanged: true }, resources: {} };
  a.lists.resources = [{ uri: "mem://1", name: "one" }];
  const { timers, aggregate } = setup(t, [a]);
  await timers.advance(10);
  assert.deepEqual(aggregate.view(), {
    route: "/mcp",
    servers: [
      {
        name: "a",
        listed: "current",
        tools: 1,
        prompts: 0,
        resources: 1,
        resourceTemplates: 0,
        leftOut: [{ name: "bad name", reason: "invalid_name" }],
      },
    ],
  });
  a.open();
  await timers.advance(4_000);
  assert.equal(aggregate.view().servers[0]?.listed, "cached");
  assert.equal(aggregate.view().servers[0]?.graceLeftMs, 6_000);
  assert.deepEqual((await tools(aggregate, "resources")).names, ["a+mem://1"]);
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

test("a reload that renames and removes at once tells each kind once", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const b = new FakeServer("b");
  b.setTools("y");
  const { timers, aggregate } = setup(t, [a, b]);
  await timers.advance(2_000);
  const told: ListKind[] = [];
  aggregate.onChange(new Set(["tools"]), (kind) => told.push(kind));
  aggregate.reconfigure({ ...base, servers: ["a"], separator: "." }, poolsOf(a));
  await timers.advance(5_000);
  assert.deepEqual((await tools(aggregate)).names, ["a.x"]);
  assert.deepEqual(told, ["tools"]);
});

test("a kept server whose replicas a reload replaced by ones whose circuits are open is cached from then", async (t) => {
  const a = new FakeServer("a");
  a.setTools("x");
  const { timers, aggregate, poolClient } = setup(t, [a]);
  await timers.advance(10);
  const replaced = new FakeServer("a");
  replaced.open();
  poolClient.add(replaced);
  aggregate.reconfigure(base, poolsOf(replaced));
  assert.equal(aggregate.view().servers[0]?.listed, "cached");
  assert.equal(aggregate.view().servers[0]?.tools, 1, "its lists kept");
});
