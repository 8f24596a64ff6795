import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { HealthChecker } from "../../src/health/HealthChecker.ts";
import type { Permit } from "../../src/index.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { RedisServer } from "../support/redisServer.ts";
import { until } from "../support/until.ts";
import { type SharedReplica, TestFleet } from "./sharedReplica.ts";
import { untilAnswered } from "./untilAnswered.ts";

function fail(breaker: SharedReplica["api"]): void {
  const permit = breaker.tryAcquire();
  assert.ok(permit.admitted);
  permit.failure();
}

/** Moves `replica`'s time (its breakers', lease's and link's) on by `ms`. */
function step(replica: SharedReplica, ms: number): Promise<void> {
  return (replica.timers as ManualTimers).advance(ms);
}

/** Waits until every command `replicas` sent Redis before now has been answered (one connection each, in order). */
async function answered(replicas: readonly SharedReplica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.link.recall("nothing-here:")));
}

/** Steps `timers` on by `ms` at a time until `condition` holds: for a wait that takes a timer and a real event. */
async function stepUntil(timers: ManualTimers, ms: number, condition: () => boolean, what: string) {
  await untilAnswered(async () => {
    await timers.advance(ms);
    return condition();
  }, what);
}

describe("SharedCircuits (SPEC §6.2, a real redis-server)", () => {
  const redis = new RedisServer();
  const fleets: TestFleet[] = [];
  /** A fleet of `count` replicas, each on manual time unless `timers` says otherwise, all connected. */
  const started = async (count: number, options: Parameters<TestFleet["replica"]>[0] = {}) => {
    const fleet = new TestFleet(redis.url);
    fleets.push(fleet);
    const replicas = Array.from({ length: count }, () =>
      fleet.replica({ timers: new ManualTimers(), ...options }),
    );
    await until(() => replicas.every((r) => r.link.connected), "every replica is connected");
    // each has caught up (a SCAN finding nothing) before the test decides anything: one catching up
    // later would take on, again, an opening it heard of and saw end already on its manual time
    await answered(replicas);
    return { fleet, replicas };
  };
  before(() => redis.start());
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.close()));
  });
  after(() => redis.stop());

  it("an opening on one replica opens the others for the time it has left, told once, not echoed", async () => {
    const { replicas } = await started(3);
    const [a, b, c] = replicas;
    assert.ok(a && b && c);
    fail(a.api);
    await until(() => b.api.state === "open" && c.api.state === "open", "b and c are open");
    for (const other of [b, c]) {
      assert.deepEqual(
        other.changes.map(({ to, reason, origin }) => ({ to, reason, origin })),
        [{ to: "open", reason: "fleet", origin: a.link.replica }],
      );
      assert.equal(other.api.metrics().retryAfterMs, 60_000, "open for the time a had left when it told");
    }
    // b and c say something after anything they would have echoed; once a hears it, no echo came first
    for (const [other, marker] of [
      [b, "marker-b"],
      [c, "marker-c"],
    ] as const)
      fail(other.registry.create("api", other.breakerOptions, marker).breaker);
    await until(
      () => ["marker-b", "marker-c"].every((m) => a.registry.get("api", m)?.breaker.state === "open"),
      "a hears the markers",
    );
    assert.equal(a.api.metrics().transitions, 1, "a heard nothing back");
  });

  it("manual control on one replica applies to all: forced open, disabled, reset", async () => {
    const { replicas } = await started(2);
    const [a, b] = replicas;
    assert.ok(a && b);
    for (const [act, state] of [
      [() => a.api.forceOpen(), "forced_open"],
      [() => a.api.disable(), "disabled"],
      [() => b.api.reset(), "closed"],
    ] as const) {
      act();
      await until(() => a.api.state === state && b.api.state === state, `both are ${state}`);
    }
    assert.deepEqual(
      b.changes.map(({ to, origin }) => [to, origin === undefined ? "own" : "fleet"]),
      [
        ["forced_open", "fleet"],
        ["disabled", "fleet"],
        ["closed", "own"],
      ],
    );
  });

  it("a tool's circuit is shared too, made on a replica that has not seen the tool called", async () => {
    const { replicas } = await started(2);
    const [a, b] = replicas;
    assert.ok(a && b);
    fail(a.registry.create("api", a.breakerOptions, "lookup").breaker);
    await until(() => b.registry.get("api", "lookup")?.breaker.state === "open", "b's lookup is open");
    assert.equal(b.api.state, "closed", "the upstream's own circuit is not touched");
  });

  it("one probe at a time fleet-wide: one replica wins the lease, its success closes every circuit", async () => {
    const { replicas } = await started(3, { breaker: { openDuration: 300 } });
    const [a] = replicas;
    assert.ok(a);
    fail(a.api);
    await until(() => replicas.every((r) => r.api.state === "open"), "all are open");
    // the open time ends: each replica wakes, goes half-open and asks for the lease
    for (const r of replicas) await step(r, 300);
    const admitted: SharedReplica[] = [];
    const permits: Permit[] = [];
    await until(() => {
      for (const r of replicas) {
        const permit = r.api.tryAcquire();
        if (permit.admitted) {
          admitted.push(r);
          permits.push(permit);
        }
      }
      return admitted.length > 0;
    }, "a replica admits a probe");
    await answered(replicas); // every ask for the lease has its answer
    for (const r of replicas) assert.equal(r.api.tryAcquire().admitted, false, "no second probe anywhere");
    assert.equal(admitted.length, 1);
    assert.equal(replicas.filter((r) => r.api.state === "half_open").length, 3);
    permits[0]?.success();
    await until(() => replicas.every((r) => r.api.state === "closed"), "all are closed");
    const others = replicas.filter((r) => r !== admitted[0]);
    for (const r of others) assert.equal(r.changes.at(-1)?.reason, "fleet");
  });

  it("a replica that joins later takes on an opening still in force", async () => {
    const { fleet, replicas } = await started(1);
    const [a] = replicas;
    assert.ok(a);
    fail(a.api);
    const reader = new Redis(redis.url.href);
    try {
      await untilAnswered(
        async () => (await reader.exists(`${fleet.name}:circuit:api`)) === 1,
        "the decision is kept in Redis",
      );
    } finally {
      reader.disconnect();
    }
    const late = fleet.replica({ timers: new ManualTimers() });
    await until(() => late.api.state === "open", "the late replica is open");
    assert.equal(late.changes[0]?.origin, a.link.replica);
    const left = late.api.metrics().retryAfterMs ?? 0;
    assert.ok(left > 0 && left <= 60_000, `open for the time left in Redis: ${left} ms`);
  });

  it("Redis down: each replica goes on alone (probes by local rules), logs it once, catches up when back", async () => {
    const { replicas } = await started(2, { breaker: { openDuration: 200 } });
    const [a, b] = replicas;
    assert.ok(a && b);
    await redis.stop();
    await until(() => !a.link.connected && !b.link.connected, "both know the link is down");
    fail(a.api); // told to nobody
    assert.equal(a.api.state, "open");
    await step(a, 200);
    const probe = a.api.tryAcquire();
    assert.ok(probe.admitted, "with the link down, the lease does not hold up a local probe");
    probe.success();
    a.api.forceOpen(); // an operator's decision, made while apart
    assert.equal(b.api.state, "closed");
    await redis.start();
    await until(() => a.link.connected && b.link.connected, "both are back");
    await until(() => b.api.state === "forced_open", "b hears of the decision made while apart");
    for (const r of [a, b]) {
      assert.equal(r.messages().filter((m) => m.startsWith("fleet link lost")).length, 1);
      assert.equal(r.messages().filter((m) => m.startsWith("fleet link back")).length, 1);
    }
  });

  it("Redis too slow to answer: the link counts as lost (local rules) until it answers again", async () => {
    const timers = new ManualTimers();
    const { replicas } = await started(1, { breaker: { openDuration: 100 }, timers, announceEveryMs: 200 });
    const [a] = replicas;
    assert.ok(a);
    redis.pause();
    try {
      // the next heartbeat gets no answer within ioredis's command timeout (a second, real)
      await timers.advance(200);
      await until(() => !a.link.connected, "the link counts as lost");
      fail(a.api);
      await timers.advance(100);
      assert.ok(a.api.tryAcquire().admitted, "a probe by local rules, no lease asked of a frozen Redis");
    } finally {
      redis.resume();
    }
    await stepUntil(timers, 200, () => a.link.connected, "answers again");
    assert.equal(a.messages().filter((m) => m.startsWith("fleet link lost")).length, 1);
    assert.equal(a.messages().at(-1), "fleet link back: circuits shared again");
  });

  it("closes at once when Redis was never reachable (no queued QUIT holds up a shutdown)", async () => {
    const fleet = new TestFleet(new URL("redis://127.0.0.1:9")); // discard: nothing listens there
    const lonely = fleet.replica({ timers: new ManualTimers() });
    await until(() => lonely.messages().some((m) => m.startsWith("fleet link lost")), "it knows");
    await lonely.shared.close(); // a QUIT queued until Redis answers would never resolve
    assert.ok(lonely.api.tryAcquire().admitted, "its circuits worked alone all along");
  });

  it("health checks take the lease too: one replica checks a recovering upstream, one check at a time", async () => {
    const { replicas } = await started(3, {
      breaker: { openDuration: 300, halfOpenProbesOnly: true, successThreshold: 2 },
    });
    let running = 0;
    let most = 0;
    const checked: SharedReplica[] = [];
    /** Each check ends when the test lets it: two never overlap only if the lease keeps them apart. */
    const ends: (() => void)[] = [];
    const checkers = replicas.map(
      (r) =>
        new HealthChecker({
          upstream: "api",
          breaker: r.api,
          intervalMs: 60_000,
          timeoutMs: 5_000,
          check: async () => {
            most = Math.max(most, ++running);
            checked.push(r);
            await new Promise<void>((resolve) => ends.push(resolve));
            running--;
            return { healthy: true };
          },
        }),
    );
    const [a] = replicas;
    assert.ok(a);
    fail(a.api);
    await until(() => replicas.every((r) => r.api.state === "open"), "all are open");
    for (const r of replicas) await step(r, 300);
    for (const checker of checkers) checker.start();
    try {
      for (let check = 1; check <= 2; check++) {
        await until(() => ends.length === 1, `check ${check} is running`);
        await answered(replicas);
        assert.equal(running, 1, "the other replicas do not check meanwhile");
        ends.shift()?.();
      }
      await until(() => replicas.every((r) => r.api.state === "closed"), "all are closed");
    } finally {
      for (const checker of checkers) checker.stop();
    }
    assert.equal(most, 1, "never two checks at once");
    assert.equal(checked.length, 2, "success_threshold checks, then the others closed on its word");
    assert.equal(new Set(checked).size, 1, "by the replica holding the lease");
  });
});
