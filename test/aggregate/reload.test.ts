import assert from "node:assert/strict";
import { test } from "node:test";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import type { ListKind } from "../../src/aggregate/contracts.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { base, setup, tools } from "./aggregateSetup.ts";
import { FakePoolClient, FakeServer, poolsOf, registryOf } from "./fakePools.ts";

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
