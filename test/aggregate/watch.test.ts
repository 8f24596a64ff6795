import assert from "node:assert/strict";
import { test } from "node:test";
import { setup, tools } from "./aggregateSetup.ts";
import { FakeServer } from "./fakePools.ts";

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
