import assert from "node:assert/strict";
import { test } from "node:test";
import { Aggregate } from "../../src/aggregate/Aggregate.ts";
import type { ListKind } from "../../src/aggregate/contracts.ts";
import type { AggregateConfig } from "../../src/config/Config.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { FakePoolClient, FakeServer, poolsOf, registryOf } from "./fakePools.ts";

const graceMs = 30_000;
const config: AggregateConfig = {
  route: "/mcp",
  servers: ["a", "b"],
  separator: "__",
  graceMs,
  listTimeoutMs: 2_000,
};
const allKinds = new Set<ListKind>(["tools", "prompts", "resources", "resourceTemplates"]);

test("the timeline: grace keeps an open server's tools listed without a word, its end and the circuit's closing are told once each, flapping and lists asked while watched are silent", async (t) => {
  const timers = new ManualTimers(1_000_000);
  const a = new FakeServer("a");
  a.setTools("x", "y");
  const b = new FakeServer("b");
  b.setTools("z");
  const poolClient = new FakePoolClient().add(a, b);
  const aggregate = new Aggregate({
    poolClient,
    circuits: registryOf(a, b),
    timers,
    logger: capturedLog().logger,
    random: () => 0.5,
  });
  t.after(() => aggregate.close());
  aggregate.reconfigure(config, poolsOf(a, b));
  await timers.advance(100); // lists fetched, watches acknowledged
  await timers.advance(2_000); // out of the start's notification second

  const told: { kind: ListKind; at: number }[] = [];
  aggregate.onChange(allKinds, (kind) => told.push({ kind, at: timers.now() }));
  const listed = async () => {
    const answer = await aggregate.answer("tools", "modern", undefined);
    assert.ok("result" in answer, JSON.stringify(answer));
    const result = JSON.parse(answer.result) as {
      tools: { name: string }[];
      ttlMs: number;
      _meta: { "breakwater/servers": Record<string, { listed: string; state: string }> };
    };
    return { names: result.tools.map((tool) => tool.name), result };
  };
  const listsAsked = () => a.count("tools/list") + b.count("tools/list");

  // an ordinary tools/list asks no server while the watch stands (ttlMs 0, long after the fetch)
  const askedBefore = listsAsked();
  assert.deepEqual((await listed()).names, ["a__x", "a__y", "b__z"]);
  await timers.advance(60_000);
  assert.deepEqual((await listed()).names, ["a__x", "a__y", "b__z"]);
  assert.equal(listsAsked(), askedBefore, "no server was asked for its list");
  assert.equal(told.length, 0);

  // a's circuit opens (and its listen ends): its tools stay listed as cached for the grace, untold
  a.open();
  a.endStreams();
  await timers.advance(100);
  const cached = await listed();
  assert.deepEqual(cached.names, ["a__x", "a__y", "b__z"]);
  assert.equal(cached.result._meta["breakwater/servers"]["a"]?.listed, "cached");
  assert.equal(cached.result._meta["breakwater/servers"]["a"]?.state, "open");
  assert.equal(cached.result.ttlMs, 0, "a partial list is not cacheable");
  await timers.advance(graceMs - 300);
  assert.equal(told.length, 0, "nothing told within the grace");
  assert.equal(aggregate.view().servers[0]?.listed, "cached");

  // at the grace's end: one tools/list_changed, and a's tools are gone
  await timers.advance(300);
  assert.deepEqual(
    told.map((n) => n.kind),
    ["tools"],
  );
  const omitted = await listed();
  assert.deepEqual(omitted.names, ["b__z"]);
  assert.equal(omitted.result._meta["breakwater/servers"]["a"]?.listed, "omitted");
  await timers.advance(5_000);
  assert.equal(told.length, 1);

  // the circuit closes: a is asked again, its tools come back with one notification
  a.close();
  await timers.advance(100);
  assert.deepEqual(
    told.map((n) => n.kind),
    ["tools", "tools"],
  );
  assert.deepEqual((await listed()).names, ["a__x", "a__y", "b__z"]);
  assert.equal(aggregate.view().servers[0]?.listed, "current");
  await timers.advance(2_000);

  // flapping within the grace sends nothing, nor does the first opening's grace end later
  for (let flap = 0; flap < 5; flap++) {
    a.open();
    a.endStreams();
    await timers.advance(5_000);
    a.close();
    await timers.advance(5_000);
  }
  await timers.advance(graceMs);
  assert.equal(told.length, 2, "flapping told nothing");
  assert.deepEqual((await listed()).names, ["a__x", "a__y", "b__z"]);

  // b says its tools changed: told at once; two more changes within that second: one notification at its end
  b.setTools("z", "w");
  b.notify("notifications/tools/list_changed");
  await timers.advance(10);
  assert.equal(told.length, 3);
  const first = told[2]?.at as number;
  b.setTools("z", "w", "v");
  b.notify("notifications/tools/list_changed");
  await timers.advance(200);
  b.setTools("z", "w", "v", "u");
  b.notify("notifications/tools/list_changed");
  await timers.advance(first + 999 - timers.now());
  assert.equal(told.length, 3, "nothing more within the second");
  await timers.advance(1);
  assert.deepEqual(told.slice(3), [{ kind: "tools", at: first + 1_000 }]);
  await timers.advance(5_000);
  assert.equal(told.length, 4);
  assert.deepEqual((await listed()).names, ["a__x", "a__y", "b__z", "b__w", "b__v", "b__u"]);

  // and still no list is asked of the servers while their watches stand
  const askedNow = listsAsked();
  await timers.advance(60_000);
  await listed();
  assert.equal(listsAsked(), askedNow);
});
