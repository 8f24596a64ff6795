import assert from "node:assert/strict";
import { test } from "node:test";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import { NameSplitter, nameList, nameProblem } from "../../src/aggregate/AggregateNames.ts";
import type { AggregateConfig } from "../../src/config/Config.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { FakePoolClient, FakeServer, poolsOf, registryOf } from "./fakePools.ts";

const tool = (name: string) => ({ name, inputSchema: { type: "object" }, title: `the ${name}` });

test("a server's tool is listed as server + separator + name, the rest of it as the server sent it", () => {
  const { items, leftOut } = nameList("tools", "github", "__", [tool("create_issue")], undefined);
  assert.deepEqual(items, [
    { name: "github__create_issue", inputSchema: { type: "object" }, title: "the create_issue" },
  ]);
  assert.deepEqual(leftOut, []);
});

test("prompts are named as tools are, resources and templates as server+uri", () => {
  assert.deepEqual(nameList("prompts", "s", ".", [{ name: "p" }], undefined).items, [{ name: "s.p" }]);
  assert.deepEqual(nameList("resources", "s", "__", [{ uri: "file:///a", name: "a" }], undefined).items, [
    { uri: "s+file:///a", name: "a" },
  ]);
  assert.deepEqual(
    nameList("resourceTemplates", "s", "__", [{ uriTemplate: "x://{id}", name: "t" }], undefined).items,
    [{ uriTemplate: "s+x://{id}", name: "t" }],
  );
});

test("an aggregate name outside SEP-986's characters is invalid_name, one beyond 64 characters too_long", () => {
  assert.equal(nameProblem("s__ok.name-1"), undefined);
  assert.equal(nameProblem("s__has space"), "invalid_name");
  assert.equal(nameProblem("s__ü"), "invalid_name");
  assert.equal(nameProblem(`s__${"x".repeat(61)}`), undefined); // 64 exactly
  assert.equal(nameProblem(`s__${"x".repeat(62)}`), "too_long");
  const { items, leftOut } = nameList(
    "tools",
    "s",
    "__",
    [tool("ok"), tool("not ok"), tool("y".repeat(70))],
    undefined,
  );
  assert.deepEqual(
    items.map((i) => i["name"]),
    ["s__ok"],
  );
  assert.deepEqual(leftOut, [
    { name: "not ok", reason: "invalid_name" },
    { name: "y".repeat(70), reason: "too_long" },
  ]);
});

test("a name a server lists twice keeps its first item; the later ones are left out as duplicate", () => {
  const first = { ...tool("a"), title: "first" };
  const { items, leftOut } = nameList(
    "tools",
    "s",
    "__",
    [first, tool("b"), { ...tool("a"), title: "second" }],
    undefined,
  );
  assert.deepEqual(
    items.map((i) => [i["name"], i["title"]]),
    [
      ["s__a", "first"],
      ["s__b", "the b"],
    ],
  );
  assert.deepEqual(leftOut, [{ name: "a", reason: "duplicate" }]);
});

test("the server's tools filter applies to its own tool names", () => {
  const { items } = nameList("tools", "s", "__", [tool("read"), tool("delete")], (name) => name !== "delete");
  assert.deepEqual(
    items.map((i) => i["name"]),
    ["s__read"],
  );
});

test("an aggregate name splits at the prefix of a known server, wherever the separator occurs", () => {
  const split = new NameSplitter(["a", "a-b", "files"], "__");
  assert.deepEqual(split.toolOrPrompt("a__x"), { server: "a", name: "x" });
  assert.deepEqual(split.toolOrPrompt("a-b__x__y"), { server: "a-b", name: "x__y" });
  assert.deepEqual(split.toolOrPrompt("files__"), { server: "files", name: "" });
  assert.equal(split.toolOrPrompt("nobody__x"), undefined);
  assert.equal(split.toolOrPrompt("ax"), undefined);
  assert.deepEqual(split.resource("files+file:///a+b"), { server: "files", name: "file:///a+b" });
  assert.equal(split.resource("other+file:///a"), undefined);
  assert.equal(split.resource("file:///a"), undefined);
});

const config: AggregateConfig = {
  route: "/mcp",
  servers: ["s"],
  separator: "__",
  graceMs: 60_000,
  listTimeoutMs: 2_000,
};

test("a left-out name is logged once, the first time, not on every refresh of the list", async (t) => {
  const timers = new ManualTimers();
  const { logger, lines } = capturedLog();
  const server = new FakeServer("s");
  server.setTools("good", "bad name");
  const poolClient = new FakePoolClient().add(server);
  const aggregate = new Aggregate({ poolClient, circuits: registryOf(server), timers, logger });
  t.after(() => aggregate.close());
  aggregate.reconfigure(config, poolsOf(server));
  await timers.advance(10);
  for (let i = 0; i < 3; i++) {
    aggregate.serverSaidChanged("s", "tools");
    await timers.advance(10);
  }
  assert.ok(server.count("tools/list") >= 4, "the list was fetched on each change said");
  const logged = lines.filter((line) => line["msg"] === "aggregate: left out of the merged list");
  assert.deepEqual(
    logged.map((line) => [line["server"], line["name"], line["reason"]]),
    [["s", "bad name", "invalid_name"]],
  );
  const answer = await aggregate.answer("tools", "modern", undefined);
  assert.ok("result" in answer);
  const result = JSON.parse(answer.result);
  assert.deepEqual(
    result.tools.map((t: { name: string }) => t.name),
    ["s__good"],
  );
  assert.deepEqual(result._meta["breakwater/servers"].s.left_out, ["bad name"]);
});

test("toolOrPrompt and resource name the servers of the configuration in force", () => {
  const timers = new ManualTimers();
  const a = new FakeServer("a");
  const b = new FakeServer("b");
  const aggregate = new Aggregate({
    poolClient: new FakePoolClient().add(a, b),
    circuits: registryOf(a, b),
    timers,
    logger: capturedLog().logger,
  });
  aggregate.reconfigure({ ...config, servers: ["a", "b"], separator: "." }, poolsOf(a, b));
  assert.deepEqual(aggregate.toolOrPrompt("b.x"), { server: "b", name: "x" });
  assert.equal(aggregate.toolOrPrompt("b__x"), undefined);
  assert.deepEqual(aggregate.resource("a+mem://1"), { server: "a", name: "mem://1" });
  assert.equal(aggregate.prefixUri("a", "mem://1"), "a+mem://1");
  aggregate.reconfigure({ ...config, servers: ["a"], separator: "." }, poolsOf(a));
  assert.equal(aggregate.toolOrPrompt("b.x"), undefined);
  aggregate.close();
});
