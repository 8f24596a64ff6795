import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { ManualTimers } from "../support/ManualTimers.ts";
import { RedisServer } from "../support/redisServer.ts";
import { TcpRelay } from "../support/tcpRelay.ts";
import { until } from "../support/until.ts";
import { type SharedReplica, TestFleet } from "./sharedReplica.ts";
import { untilAnswered } from "./untilAnswered.ts";

type Breaker = SharedReplica["api"];

/**
 * A decision made on a replica cut off from Redis (the others and Redis running on) reaches the others
 * once its link is back, and what Redis keeps for replicas that start later says the same.
 */
describe("a replica cut off from the fleet catches up when its link is back (SPEC §6.2)", () => {
  const redis = new RedisServer();
  const fleets: TestFleet[] = [];
  let relay: TcpRelay;
  let reader: Redis;
  before(async () => {
    await redis.start();
    relay = await new TcpRelay(redis.port).start();
    reader = new Redis(redis.url.href);
  });
  afterEach(async () => {
    relay.restore();
    await Promise.all(fleets.splice(0).map((f) => f.close()));
  });
  after(async () => {
    reader.disconnect();
    await relay.stop();
    await redis.stop();
  });

  /** Replica a through the relay, b straight to Redis; `before` done on a while linked, `apart` while cut off. */
  async function cutOff(before: (a: Breaker) => void, apart: (a: Breaker) => void) {
    const fleet = new TestFleet(redis.url);
    fleets.push(fleet);
    const a = fleet.replica({ timers: new ManualTimers(), url: new URL(`redis://127.0.0.1:${relay.port}`) });
    const b = fleet.replica({ timers: new ManualTimers() });
    await until(() => a.link.connected && b.link.connected, "both are connected");
    before(a.api);
    const told = a.api.state;
    await until(() => b.api.state === told, `b is ${told}`);
    relay.cut();
    await until(() => !a.link.connected, "a knows it is cut off");
    apart(a.api);
    const decided = a.api.state;
    relay.restore();
    await until(() => a.link.connected, "a is back");
    await until(() => b.api.state === decided, `b hears of a's ${decided}, made while apart`);
    return { fleet, a, b, decided };
  }

  /** The decision Redis keeps for the fleet's upstream "api", if any. */
  async function kept(fleet: TestFleet): Promise<string | null> {
    return reader.get(`${fleet.name}:circuit:api`);
  }

  it("a reset made while cut off resets the others, and clears the forced open kept for later replicas", async () => {
    const { fleet, b } = await cutOff(
      (a) => a.forceOpen(),
      (a) => a.reset(),
    );
    assert.equal(b.changes.at(-1)?.reason, "reset");
    await untilAnswered(async () => (await kept(fleet)) === null, "the forced open is no longer kept");
    const later = fleet.replica({ timers: new ManualTimers() });
    await until(() => later.link.connected, "a later replica is connected");
    assert.equal(later.api.state, "closed", "nothing kept to take on");
  });

  it("a disabling made while cut off reaches the others, and replicas started later", async () => {
    const { fleet } = await cutOff(
      () => {},
      (a) => a.disable(),
    );
    const later = fleet.replica({ timers: new ManualTimers() });
    await until(() => later.api.state === "disabled", "a later replica comes up disabled");
  });

  it("an opening while cut off reaches the others for the time it has left, and replicas started later", async () => {
    const { fleet, b } = await cutOff(
      () => {},
      (a) => {
        const permit = a.tryAcquire();
        assert.ok(permit.admitted);
        permit.failure();
      },
    );
    const left = b.api.metrics().retryAfterMs ?? 0;
    assert.ok(left > 0 && left <= 60_000, `open on b within its limits: ${left} ms`);
    const later = fleet.replica({ timers: new ManualTimers() });
    await until(() => later.api.state === "open", "a later replica comes up open");
  });
});
