import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/app/logger.ts";
import type { StateChange } from "../../src/breaker/CircuitState.ts";
import { monotonicClock } from "../../src/breaker/Clock.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { SharedCircuits } from "../../src/fleet/SharedCircuits.ts";
import { RedisServer } from "../support/redisServer.ts";
import { until } from "../support/until.ts";

const breakerOptions = { failureThreshold: 1, openDuration: 60_000 };

/** One replica's circuits shared through `redis`: the upstream "api"'s, as a registry makes them. */
function replica(redis: RedisServer, fleet: string) {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const shared: SharedCircuits = new SharedCircuits({
    redisUrl: redis.url,
    name: fleet,
    logger: createLogger(quiet),
    clock: monotonicClock,
    circuitFor: (upstream, tool) => registry.get(upstream, tool),
    sessionKeys: [Buffer.alloc(32, 7)], // fleet messages are signed with a key derived from these
  });
  const registry: CircuitRegistry = new CircuitRegistry({ probeGate: shared.probeGate.bind(shared) });
  registry.create("api", breakerOptions);
  const changes: StateChange[] = [];
  registry.onCreated(({ breaker }) => breaker.onStateChange((change) => changes.push(change)));
  shared.watch(registry);
  shared.start();
  return { shared, registry, changes };
}

describe("a circuit a reload replaced is let go by the fleet (a real redis-server)", () => {
  const redis = new RedisServer();
  before(() => redis.start());
  after(() => redis.stop());

  it("publishes nothing for a replaced circuit's later changes; the new circuit's are told", async () => {
    const a = replica(redis, "replaced");
    const b = replica(redis, "replaced");
    try {
      await until(() => a.shared.link.connected && b.shared.link.connected, "both replicas are connected");
      const old = a.registry.get("api")?.breaker;
      assert.ok(old);
      // a reload makes the circuit anew (new breaker options); a request in flight then opens the old one
      a.registry.remove("api");
      const fresh = a.registry.create("api", breakerOptions).breaker;
      old.openFor(30_000);
      fresh.forceOpen();
      await until(() => b.changes.some((c) => c.to === "forced_open"), "b hears of the new circuit's change");
      assert.deepEqual(
        b.changes.map((c) => c.to),
        ["forced_open"],
        "the old circuit's opening was not published",
      );
    } finally {
      await Promise.all([a.shared.close(), b.shared.close()]);
    }
  });
});
