import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { NoHop } from "../../src/aggregate/contracts.ts";
import type { ServerPool } from "../../src/proxy/ServerPool.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { until } from "../support/until.ts";
import {
  closeAll,
  earlier,
  earlierClient,
  hopOf,
  isHop,
  modern,
  planner,
  poolAt,
  sdk1,
  sdk2,
} from "./hopCases.ts";
import { answerText, StandInPoolClient, sendOnHop, toolCall } from "./hopRig.ts";

after(closeAll);

describe("hops: upstream sessions lost and re-opened", () => {
  it("an earlier-era client's session survives a restart of its upstream: one new session with its own params, the call sent once there", async () => {
    const server = await sdk1("notes");
    const { pool, poolClient } = poolAt("notes", [server.url]);
    const hops = planner(poolClient);
    const client = earlierClient("claude-ish");
    const hop = hopOf(await hops.hop(pool, earlier(client)));
    const { message } = toolCall(1, "whoami");
    assert.equal((await sendOnHop(poolClient, pool, hop, message)).kind, "answer");
    await server.restart();
    // two calls in flight both meet the restarted upstream's 404
    const [lostA, lostB] = await Promise.all([
      sendOnHop(poolClient, pool, hop, message),
      sendOnHop(poolClient, pool, hop, message),
    ]);
    assert.equal(lostA.kind === "answer" && lostA.status, 404);
    assert.equal(lostB.kind === "answer" && lostB.status, 404);
    const [nextA, nextB] = await Promise.all([hop.sessionLost?.(), hop.sessionLost?.()]);
    assert.ok(nextA !== undefined && nextB !== undefined);
    assert.equal(nextA.setHeaders["Mcp-Session-Id"], nextB.setHeaders["Mcp-Session-Id"]);
    assert.notEqual(nextA.setHeaders["Mcp-Session-Id"], hop.setHeaders["Mcp-Session-Id"]);
    const initializes = poolClient.of("initialize");
    assert.equal(initializes.length, 2, "one new session for both calls");
    assert.deepEqual(initializes[1]?.params, { protocolVersion: "2025-06-18", ...client.initializeParams });
    assert.equal(hops.lostSessions, 1);
    const answer = await sendOnHop(poolClient, pool, nextA, message);
    assert.equal(JSON.parse(answerText(answer)).client, "claude-ish");
    assert.equal(server.sessions(), 1);
    // and later calls of the client go to the new session
    const later = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(later.setHeaders["Mcp-Session-Id"], nextA.setHeaders["Mcp-Session-Id"]);
  });

  it("a modern client's shared session is re-opened the same way when its upstream restarts", async () => {
    const server = await sdk1("legacy");
    const { pool, poolClient } = poolAt("legacy", [server.url]);
    const hops = planner(poolClient);
    const hop = hopOf(await hops.hop(pool, modern));
    await server.restart();
    const { message } = toolCall(1, "whoami");
    const lost = await sendOnHop(poolClient, pool, hop, message);
    assert.equal(lost.kind === "answer" && lost.status, 404);
    const next = await hop.sessionLost?.();
    assert.ok(next !== undefined);
    assert.equal(next.addsResultType, true);
    assert.equal(
      JSON.parse(answerText(await sendOnHop(poolClient, pool, next, message))).client,
      "breakwater",
    );
    assert.equal(poolClient.of("initialize").length, 2);
  });

  it("opens a client's session once however many of its calls ask at the same time", async () => {
    const server = await sdk1("notes");
    const { pool, poolClient } = poolAt("notes", [server.url]);
    const hops = planner(poolClient);
    const client = earlierClient();
    const all = await Promise.all(Array.from({ length: 8 }, () => hops.hop(pool, earlier(client))));
    const ids = new Set(all.map((hop) => hopOf(hop).setHeaders["Mcp-Session-Id"]));
    assert.equal(ids.size, 1);
    assert.equal(poolClient.of("initialize").length, 1);
    assert.equal(server.sessions(), 1);
  });

  it("a session whose upstream's circuit stops admitting is re-opened on another that admits; none admitting is circuit_open", async () => {
    const [a, b] = [await sdk1("notes-a"), await sdk1("notes-b")];
    const { pool, upstreams, poolClient } = poolAt("notes", [a.url, b.url]);
    const hops = planner(poolClient);
    const client = earlierClient();
    const first = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(first.bound, upstreams[0]);
    upstreams[0]?.circuit.forceOpen();
    const second = hopOf(await hops.hop(pool, earlier(client)));
    assert.equal(second.bound, upstreams[1]);
    assert.equal(hops.lostSessions, 1);
    const { message } = toolCall(1, "whoami");
    assert.equal(
      JSON.parse(answerText(await sendOnHop(poolClient, pool, second, message))).server,
      "notes-b",
    );
    upstreams[1]?.circuit.forceOpen();
    const none = await hops.hop(pool, earlier(client));
    assert.equal(isHop(none), false);
    assert.equal((none as NoHop).reason, "circuit_open");
    assert.ok(((none as NoHop).retryAfterMs ?? 0) > 0);
  });

  it("a session that cannot be opened is session_failed, and sessionLost then gives no hop", async () => {
    // a modern-only server taken for an earlier one: its initialize is refused (-32022)
    const server = await sdk2("modern-only", "reject");
    const { pool, poolClient } = poolAt("math", [server.url], ["earlier"]);
    const hops = planner(poolClient);
    assert.deepEqual(await hops.hop(pool, earlier(earlierClient())), {
      refused: true,
      reason: "session_failed",
    });
    assert.equal(hops.sessions, 0);
    const notes = await sdk1("notes");
    const rig = poolAt("notes", [notes.url]);
    const rigHops = planner(rig.poolClient);
    const hop = hopOf(await rigHops.hop(rig.pool, earlier(earlierClient())));
    rig.upstreams[0]?.circuit.forceOpen();
    assert.equal(await hop.sessionLost?.(), undefined);
  });
});

describe("hops: how long upstream sessions live", () => {
  /** A planner over one SDK 1.x server, on manual time, closing sessions with a real DELETE. */
  async function timedRig(options: { maxSessions?: number; idleMs?: number } = {}) {
    const server = await sdk1("notes");
    const { pool, poolClient } = poolAt("notes", [server.url]);
    const timers = new ManualTimers();
    const closed: string[] = [];
    const hops = planner(poolClient, {
      timers,
      ...options,
      closeSession: (upstream, headers) => {
        closed.push(`${upstream.name} ${headers["Mcp-Session-Id"]}`);
        void fetch(server.url, { method: "DELETE", headers: { ...headers } }).then((r) => r.body?.cancel());
      },
    });
    return { server, pool, poolClient, timers, closed, hops };
  }

  const idleMs = 600_000;

  it("closes an upstream session unused for its idle time, and not one that was used", async () => {
    const { server, pool, timers, closed, hops } = await timedRig();
    const client = earlierClient();
    const hop = hopOf(await hops.hop(pool, earlier(client)));
    await timers.advance(idleMs - 1);
    assert.equal(hops.sessions, 1);
    hopOf(await hops.hop(pool, earlier(client))); // used: its idle time starts over
    await timers.advance(idleMs - 1);
    assert.equal(hops.sessions, 1);
    await timers.advance(1);
    assert.equal(hops.sessions, 0);
    assert.deepEqual(closed, [`notes-1 ${hop.setHeaders["Mcp-Session-Id"]}`]);
    await until(() => server.sessions() === 0, "the server to end the session");
    assert.equal(timers.pending, 0, "no timer left without sessions");
  });

  it("holds at most maxSessions, closing the least recently used", async () => {
    const { pool, closed, hops } = await timedRig({ maxSessions: 2 });
    const [a, b, c] = [earlierClient(), earlierClient(), earlierClient()];
    const hopA = hopOf(await hops.hop(pool, earlier(a)));
    await hops.hop(pool, earlier(b));
    await hops.hop(pool, earlier(a)); // a used again: b is the least recently used
    const hopB = hopOf(await hops.hop(pool, earlier(b)));
    await hops.hop(pool, earlier(a));
    await hops.hop(pool, earlier(c));
    assert.equal(hops.sessions, 2);
    assert.deepEqual(closed, [`notes-1 ${hopB.setHeaders["Mcp-Session-Id"]}`]);
    assert.notEqual(hopA.setHeaders["Mcp-Session-Id"], hopB.setHeaders["Mcp-Session-Id"]);
  });

  it("closes every upstream session at shutdown, leaving no timer", async () => {
    const { pool, timers, closed, hops } = await timedRig();
    await hops.hop(pool, earlier(earlierClient()));
    await hops.hop(pool, modern);
    assert.equal(hops.sessions, 2);
    hops.close();
    assert.equal(hops.sessions, 0);
    assert.equal(closed.length, 2);
    assert.equal(timers.pending, 0);
  });

  it("a client that ends its session has its upstream sessions closed, one still opening included", async () => {
    const [notes, files] = [await sdk1("notes"), await sdk1("files")];
    const rigNotes = poolAt("notes", [notes.url]);
    const filesUpstream = new FakeUpstream("files-1");
    const filesPool: ServerPool = barePool({ name: "files", route: "/files", upstreams: [filesUpstream] });
    const poolClient = new StandInPoolClient(
      new Map<Upstream, string>([
        [rigNotes.upstreams[0] as Upstream, notes.url],
        [filesUpstream, files.url],
      ]),
    );
    const closed: string[] = [];
    const hops = planner(poolClient, { closeSession: (upstream) => closed.push(upstream.name) });
    const client = earlierClient();
    await hops.hop(rigNotes.pool, earlier(client));
    const opening = hops.hop(filesPool, earlier(client));
    hops.ended(client);
    assert.deepEqual(closed, ["notes-1"]);
    assert.deepEqual(await opening, { refused: true, reason: "session_failed" });
    assert.deepEqual(closed, ["notes-1", "files-1"]);
    assert.equal(hops.sessions, 0);
  });
});
