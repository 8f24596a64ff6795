import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { StateChange } from "../../src/breaker/CircuitState.ts";
import { monotonicClock } from "../../src/breaker/Clock.ts";
import { SharedCircuits } from "../../src/fleet/SharedCircuits.ts";
import type { CircuitBreakerOptions, Permit } from "../../src/index.ts";
import { createLogger } from "../../src/logger.ts";
import { HealthChecker } from "../../src/mcp/HealthChecker.ts";
import { CircuitRegistry } from "../../src/proxy/CircuitRegistry.ts";
import { RedisServer } from "../support/redisServer.ts";

/** One replica's circuits, shared through `redis`: the upstream "api"'s, and tools made on demand. */
function replica(
  redis: RedisServer,
  name: string,
  options: CircuitBreakerOptions = {},
  announceEveryMs?: number,
) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const breakerOptions = { failureThreshold: 1, openDuration: 60_000, successThreshold: 1, ...options };
  const shared: SharedCircuits = new SharedCircuits({
    redisUrl: redis.url,
    name,
    logger: createLogger(sink),
    clock: monotonicClock,
    ...(announceEveryMs === undefined ? {} : { announceEveryMs }),
    circuitFor: (upstream, tool) =>
      registry.get(upstream, tool) ??
      (tool === undefined ? undefined : registry.create(upstream, breakerOptions, tool)),
  });
  const registry: CircuitRegistry = new CircuitRegistry({ probeGate: shared.probeGate.bind(shared) });
  const api = registry.create("api", breakerOptions).breaker;
  const changes: StateChange[] = [];
  api.onStateChange((change) => changes.push(change));
  shared.watch(registry);
  shared.start();
  return { shared, registry, api, changes, lines, link: shared.link };
}

type Replica = ReturnType<typeof replica>;

/** Waits (bounded) until `predicate` holds, checking every 5 ms. */
async function until(predicate: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function fail(breaker: Replica["api"]): void {
  const permit = breaker.tryAcquire();
  assert.ok(permit.admitted);
  permit.failure();
}

let fleetCount = 0;
/** Replicas of a fleet of their own (a fresh key prefix), connected; closed after the test. */
async function fleet(redis: RedisServer, count: number, options?: CircuitBreakerOptions): Promise<Replica[]> {
  const name = `test${++fleetCount}`;
  const replicas = Array.from({ length: count }, () => replica(redis, name, options));
  await until(() => replicas.every((r) => r.link.connected), "every replica is connected");
  return replicas;
}

describe("SharedCircuits (SPEC §6.2, a real redis-server)", () => {
  const redis = new RedisServer();
  const open: Replica[] = [];
  const started = async (count: number, options?: CircuitBreakerOptions) => {
    const replicas = await fleet(redis, count, options);
    open.push(...replicas);
    return replicas;
  };
  before(() => redis.start());
  after(async () => {
    await Promise.all(open.map((r) => r.shared.close()));
    await redis.stop();
  });

  it("an opening on one replica opens the others for the time it has left, told once, not echoed", async (t) => {
    const [a, b, c] = await started(3);
    assert.ok(a && b && c);
    const openedAt = performance.now();
    fail(a.api);
    await until(() => b.api.state === "open" && c.api.state === "open", "b and c are open");
    t.diagnostic(`opened on the others ${(performance.now() - openedAt).toFixed(1)} ms after the failure`);
    for (const other of [b, c]) {
      assert.deepEqual(
        other.changes.map(({ to, reason, origin }) => ({ to, reason, origin })),
        [{ to: "open", reason: "fleet", origin: a.link.replica }],
      );
      const left = other.api.metrics().retryAfterMs ?? 0;
      assert.ok(left > 55_000 && left <= 60_000, `open for the time left on a: ${left} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // room for an echo, if there were one
    assert.equal(a.api.metrics().transitions, 1, "a heard nothing back");
  });

  it("manual control on one replica applies to all: forced open, disabled, reset", async () => {
    const [a, b] = await started(2);
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
    const [a, b] = await started(2);
    assert.ok(a && b);
    const lookup = a.registry.create("api", { failureThreshold: 1, openDuration: 60_000 }, "lookup").breaker;
    fail(lookup);
    await until(() => b.registry.get("api", "lookup")?.breaker.state === "open", "b's lookup is open");
    assert.equal(b.api.state, "closed", "the upstream's own circuit is not touched");
  });

  it("one probe at a time fleet-wide: one replica wins the lease, its success closes every circuit", async () => {
    const replicas = await started(3, { openDuration: 300 });
    const [a] = replicas;
    assert.ok(a);
    fail(a.api);
    await until(() => replicas.every((r) => r.api.state === "open"), "all are open");
    // once the open time is up, each replica asks for the lease; calls are admitted only where it is won
    const admitted: Replica[] = [];
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
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const r of replicas) assert.equal(r.api.tryAcquire().admitted, false, "no second probe anywhere");
    assert.equal(admitted.length, 1);
    assert.equal(replicas.filter((r) => r.api.state === "half_open").length, 3);
    permits[0]?.success();
    await until(() => replicas.every((r) => r.api.state === "closed"), "all are closed");
    const others = replicas.filter((r) => r !== admitted[0]);
    for (const r of others) assert.equal(r.changes.at(-1)?.reason, "fleet");
  });

  it("a replica that joins later takes on an opening still in force", async () => {
    const [a] = await started(1);
    assert.ok(a);
    fail(a.api);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the decision reaches Redis
    const late = replica(redis, `test${fleetCount}`);
    open.push(late);
    await until(() => late.api.state === "open", "the late replica is open");
    assert.equal(late.changes[0]?.origin, a.link.replica);
  });

  it("Redis down: each replica goes on alone (probes by local rules), logs it once, catches up when back", async () => {
    const [a, b] = await started(2, { openDuration: 200 });
    assert.ok(a && b);
    await redis.stop();
    await until(() => !a.link.connected && !b.link.connected, "both know the link is down");
    fail(a.api); // told to nobody
    assert.equal(a.api.state, "open");
    await new Promise((resolve) => setTimeout(resolve, 250));
    const probe = a.api.tryAcquire();
    assert.ok(probe.admitted, "with the link down, the lease does not hold up a local probe");
    probe.success();
    a.api.forceOpen(); // an operator's decision, made while apart
    assert.equal(b.api.state, "closed");
    await redis.start();
    await until(() => a.link.connected && b.link.connected, "both are back", 10_000);
    await until(() => b.api.state === "forced_open", "b hears of the decision made while apart");
    for (const r of [a, b]) {
      const messages = r.lines.map((l) => l["msg"]);
      assert.equal(messages.filter((m) => String(m).startsWith("fleet link lost")).length, 1);
      assert.equal(messages.filter((m) => String(m).startsWith("fleet link back")).length, 1);
    }
  });

  it("Redis too slow to answer: the link counts as lost (local rules) until it answers again", async () => {
    const name = `test${++fleetCount}`;
    const a = replica(redis, name, { openDuration: 100 }, 200);
    open.push(a);
    await until(() => a.link.connected, "connected");
    redis.pause();
    try {
      // the next heartbeat gets no answer within a second
      await until(() => !a.link.connected, "the link counts as lost", 5_000);
      fail(a.api);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.ok(a.api.tryAcquire().admitted, "a probe by local rules, no lease asked of a frozen Redis");
    } finally {
      redis.resume();
    }
    await until(() => a.link.connected, "answers again", 5_000);
    assert.equal(a.lines.filter((l) => String(l["msg"]).startsWith("fleet link lost")).length, 1);
    assert.equal(a.lines.at(-1)?.["msg"], "fleet link back: circuits shared again");
  });

  it("closes at once when Redis was never reachable (no queued QUIT holds up a shutdown)", async () => {
    const nowhere = new RedisServer();
    nowhere.port = 9; // discard: nothing listens there
    const lonely = replica(nowhere, `test${++fleetCount}`);
    await until(() => lonely.lines.some((l) => String(l["msg"]).startsWith("fleet link lost")), "it knows");
    const started = performance.now();
    await lonely.shared.close();
    assert.ok(performance.now() - started < 1_000, "closed without waiting for Redis");
    assert.ok(lonely.api.tryAcquire().admitted, "its circuits worked alone all along");
  });

  it("health checks take the lease too: one replica checks a recovering upstream, one check at a time", async () => {
    const replicas = await started(3, { openDuration: 300, halfOpenProbesOnly: true, successThreshold: 2 });
    let running = 0;
    let most = 0;
    const checked: Replica[] = [];
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
            await new Promise((resolve) => setTimeout(resolve, 50));
            running--;
            return { healthy: true };
          },
        }),
    );
    const [a] = replicas;
    assert.ok(a);
    fail(a.api);
    await until(() => replicas.every((r) => r.api.state === "open"), "all are open");
    for (const checker of checkers) checker.start();
    try {
      await until(() => replicas.every((r) => r.api.state === "closed"), "all are closed");
    } finally {
      for (const checker of checkers) checker.stop();
    }
    assert.equal(most, 1, "never two checks at once");
    assert.equal(checked.length, 2, "success_threshold checks, then the others closed on its word");
    assert.equal(new Set(checked).size, 1, "by the replica holding the lease");
  });
});
