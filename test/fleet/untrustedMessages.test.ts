import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { FleetMessage } from "../../src/fleet/fleetMessages.ts";
import { MessageCodec } from "../../src/fleet/MessageCodec.ts";
import { maxReplicasSeen } from "../../src/fleet/ReplicasSeen.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { RedisServer } from "../support/redisServer.ts";
import { until } from "../support/until.ts";
import { type SharedReplica, TestFleet } from "./sharedReplica.ts";
import { untilAnswered } from "./untilAnswered.ts";

/** Waits until every command `replica` sent Redis before now has been answered. */
async function answered(replica: SharedReplica): Promise<void> {
  await replica.link.recall("nothing-here:");
}

describe("fleet messages are untrusted input (SPEC §6.2, a real redis-server)", () => {
  const redis = new RedisServer();
  const fleets: TestFleet[] = [];
  let attacker: Redis;
  let listener: Redis;
  before(async () => {
    await redis.start();
    attacker = new Redis(redis.url.href);
    listener = new Redis(redis.url.href);
  });
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.close()));
    await listener.unsubscribe();
  });
  after(async () => {
    attacker.disconnect();
    listener.disconnect();
    await redis.stop();
  });

  /** One replica (manual time) of a fleet of its own, connected, and what is said on its channel. */
  async function replicaOnItsChannel() {
    const fleet = new TestFleet(redis.url);
    fleets.push(fleet);
    const timers = new ManualTimers();
    const a = fleet.replica({ timers, knownTool: (tool) => !tool.startsWith("unlisted") });
    await until(() => a.link.connected, "connected");
    const channel = `${fleet.name}:events`;
    const codec = new MessageCodec(fleet.keys, fleet.name);
    const heard: FleetMessage[] = [];
    listener.removeAllListeners("message");
    listener.on("message", (_channel: string, text: string) => {
      const message = codec.decode(text);
      if (message !== undefined) heard.push(message);
    });
    await listener.subscribe(channel);
    /** Publishes as one holding the fleet's keys. */
    const signed = (message: object) => attacker.publish(channel, codec.encode(message as FleetMessage));
    const raw = (message: object | string) =>
      attacker.publish(channel, typeof message === "string" ? message : JSON.stringify(message));
    return { fleet, a, timers, heard, signed, raw, channel };
  }

  it("ignores and counts messages not signed with the fleet's keys: an open for 31 years does nothing", async () => {
    const { a, raw, signed, fleet } = await replicaOnItsChannel();
    await raw({ kind: "open", ms: 1e12, upstream: "api", from: "mallory" });
    await raw({ kind: "forced_open", upstream: "api", from: "mallory" });
    const otherFleet = new MessageCodec([randomBytes(32)], fleet.name);
    await attacker.publish(
      `${fleet.name}:events`,
      otherFleet.encode({ kind: "forced_open", upstream: "api", from: "mallory" }),
    );
    await raw(`AAAA.${JSON.stringify({ kind: "disabled", upstream: "api", from: "mallory" })}`);
    await signed({ kind: "hello", from: "marker" }); // after the others, so heard after them
    await until(() => a.link.replicasSeen() === 1, "a hears the marker");
    assert.equal(a.api.state, "closed");
    assert.equal(a.link.rejected.get("unauthenticated"), 4);
  });

  it("holds a signed opening to the circuit's own longest open time", async () => {
    const { a, signed, timers } = await replicaOnItsChannel();
    await signed({ kind: "open", ms: 1e12, upstream: "api", from: "b" });
    await until(() => a.api.state === "open", "a is open");
    assert.equal(a.api.metrics().retryAfterMs, 60_000, "max_timeout_duration_secs, here the open duration");
    await timers.advance(60_000);
    assert.equal(a.api.state, "half_open");
  });

  it("makes no circuit for a tool name over 128 characters or a tool the upstream has not listed", async () => {
    const { a, signed, raw } = await replicaOnItsChannel();
    await raw({ kind: "close", upstream: "api", tool: "t".repeat(100_000), from: "mallory" });
    await signed({ kind: "open", ms: 1_000, upstream: "api", tool: "t".repeat(129), from: "b" });
    await signed({ kind: "open", ms: 1_000, upstream: "api", tool: "unlisted-tool", from: "b" });
    await signed({ kind: "open", ms: 1_000, upstream: "elsewhere", from: "b" });
    await signed({ kind: "open", ms: 1_000, upstream: "api", tool: "t".repeat(128), from: "b" });
    await until(() => a.registry.get("api", "t".repeat(128)) !== undefined, "a makes the 128-character one");
    assert.equal(a.registry.toolCount("api"), 1);
    assert.deepEqual(Object.fromEntries(a.link.rejected), {
      unauthenticated: 1,
      malformed: 1,
      unknown_circuit: 2,
    });
  });

  it("remembers at most 1,000 replicas and greets newcomers once a second, however many hellos arrive", async () => {
    const { a, timers, heard, signed, raw } = await replicaOnItsChannel();
    for (let i = 0; i < 2_000; i++) await raw({ kind: "hello", from: `forged-${i}` });
    for (let i = 0; i < 1_500; i++) await signed({ kind: "hello", from: `newcomer-${i}` });
    await signed({ kind: "bye", from: "newcomer-1499" }); // the last one: all before it are heard
    await until(() => a.link.replicasSeen() === maxReplicasSeen - 1, "a hears them all");
    await answered(a);
    const greetings = () => heard.filter((m) => m.kind === "hello" && m.from === a.link.replica).length;
    assert.equal(greetings(), 1, "one greeting at once");
    await timers.advance(1_000);
    await until(() => greetings() === 2, "one more when the second is over, for all newcomers since");
    await timers.advance(10_000);
    assert.ok(greetings() <= 4, `then only the heartbeat (every 5 s): ${greetings()}`);
    assert.equal(a.link.rejected.get("unauthenticated"), 2_000);
  });

  it("takes on no decision kept in Redis that the fleet did not sign", async () => {
    const fleet = new TestFleet(redis.url);
    fleets.push(fleet);
    await attacker.set(
      `${fleet.name}:circuit:api`,
      JSON.stringify({ kind: "forced_open", upstream: "api", from: "mallory" }),
    );
    const late = fleet.replica({ timers: new ManualTimers() });
    await until(() => late.link.rejected.get("unauthenticated") === 1, "the kept value is read and refused");
    assert.equal(late.api.state, "closed");
  });

  it("without session keys, makes no link (one error line) and keeps its circuits its own", async () => {
    const fleet = new TestFleet(redis.url);
    fleets.push(fleet);
    const keyless = fleet.replica({ timers: new ManualTimers(), keys: [] });
    const other = fleet.replica({ timers: new ManualTimers() });
    await until(() => other.link.connected, "the other is connected");
    keyless.api.forceOpen();
    other.api.disable();
    await answered(other);
    assert.equal(keyless.link.connected, false);
    assert.equal(other.api.state, "disabled");
    assert.equal(keyless.api.state, "forced_open");
    const errors = keyless.lines.filter((l) => l["level"] === 50);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.["msg"]), /fleet\.session_keys/);
  });

  it("takes over a probe lease held without an expiry, which no replica sets, instead of never probing", async () => {
    const { fleet, a, timers } = await replicaOnItsChannel();
    await attacker.set(`${fleet.name}:lease:api`, "mallory");
    const permit = a.api.tryAcquire();
    assert.ok(permit.admitted);
    permit.failure();
    await timers.advance(60_000); // the open time ends: half-open, the lease asked for
    await untilAnswered(async () => {
      await answered(a);
      return a.api.tryAcquire().admitted;
    }, "a probe is admitted");
    assert.equal(await attacker.get(`${fleet.name}:lease:api`), a.link.replica);
  });
});
