import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProcessTable, type TableEntry } from "../../src/upstreams/stdio/ProcessTable.ts";
import type { StdioSession } from "../../src/upstreams/stdio/StdioSession.ts";
import { ManualTimers } from "../support/ManualTimers.ts";

/** What the table reads of a session, settable by the test. */
interface FakeSession {
  sessionId: string | undefined;
  busy: boolean;
  ending: boolean;
  lastUsed: number;
  end(): Promise<void>;
}

function fake(sessionId: string | undefined, lastUsed = 0, busy = false): FakeSession {
  const session: FakeSession = {
    sessionId,
    busy,
    ending: false,
    lastUsed,
    end: () => {
      session.ending = true;
      return Promise.resolve();
    },
  };
  return session;
}

const as = (session: FakeSession) => session as unknown as StdioSession;

/** A table of `max` with each of `sessions` admitted and named. */
function full(max: number, timers: ManualTimers, ...sessions: FakeSession[]): ProcessTable<StdioSession> {
  const table = new ProcessTable<StdioSession>(max, timers);
  for (const session of sessions) {
    assert.ok(table.admit(as(session)));
    table.named(as(session));
  }
  return table;
}

describe("ProcessTable", () => {
  it("ends the least recently used idle session and hands its slot on only once its process is gone", async () => {
    const timers = new ManualTimers();
    const [older, newer, fresh] = [fake("a", 10), fake("b", 20), fake(undefined)];
    const table = full(2, timers, newer, older);
    const evicted: FakeSession[] = [];
    const room = table.makeRoom(as(fresh), 10_000, (victim) => void victim.end("evicted"));
    evicted.push(...[older, newer].filter((s) => s.ending));
    assert.deepEqual(evicted, [older], "the least recently used one");
    assert.equal(table.size, 2, "the stopping process still holds its slot");
    assert.equal(table.admit(as(fake(undefined))), false, "and nobody else takes it");
    table.gone(as(older));
    assert.equal(table.size, 2, "handed over in the same step");
    assert.equal(await room, true);
    assert.equal(table.get("a"), undefined);
  });

  it("ends none while one is stopping with no session waiting for its slot, and none that is busy", () => {
    const timers = new ManualTimers();
    const [stopping, idle, busy] = [fake("a", 10), fake("b", 20), fake("c", 0, true)];
    const table = full(3, timers, stopping, idle, busy);
    void stopping.end();
    const ended: TableEntry[] = [];
    const evict = (victim: TableEntry) => {
      ended.push(victim);
      void victim.end("evicted");
    };
    assert.ok(table.makeRoom(as(fake(undefined)), 10_000, evict), "waits for the stopping one");
    assert.deepEqual(ended, []);
    assert.ok(table.makeRoom(as(fake(undefined)), 10_000, evict), "then ends the idle one");
    assert.deepEqual(ended, [as(idle)]);
    assert.equal(table.makeRoom(as(fake(undefined)), 10_000, evict), undefined, "the rest are busy");
    assert.deepEqual(table.slots, { live: 3, busy: 1, limit: 3 });
  });

  it("gives up a wait after its bound, and a slot freed later is simply free", async () => {
    const timers = new ManualTimers();
    const [idle, fresh] = [fake("a"), fake(undefined)];
    const table = full(1, timers, idle);
    const room = table.makeRoom(as(fresh), 10_000, (victim) => void victim.end("evicted"));
    await timers.advance(10_000);
    assert.equal(await room, false);
    table.gone(as(idle));
    assert.equal(table.size, 0);
    assert.equal(table.admit(as(fake(undefined))), true);
  });

  it("counts a slot once however often its process is told gone", async () => {
    const timers = new ManualTimers();
    const [first, second, third] = [fake("a"), fake("b"), fake(undefined)];
    const table = full(2, timers, first, second);
    const room = table.makeRoom(as(third), 10_000, (victim) => void victim.end("evicted"));
    table.gone(as(first));
    table.gone(as(first)); // a spawn that failed, then closed
    assert.equal(await room, true);
    assert.equal(table.size, 2);
  });
});
