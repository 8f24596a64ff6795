import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LeaseLink, ProbeLease } from "../../src/fleet/ProbeLease.ts";
import { ManualClock } from "../support/ManualClock.ts";

/** A link whose lease answers the test gives by hand, in order. */
class FakeLink implements LeaseLink {
  connected = true;
  readonly asked: number[] = [];
  readonly released: string[] = [];
  readonly #answers: ((left: number) => void)[] = [];

  lease(_key: string, ms: number): Promise<number> {
    this.asked.push(ms);
    return new Promise((resolve) => this.#answers.push(resolve));
  }

  release(key: string): void {
    this.released.push(key);
  }

  /** Answers the oldest lease asked for, and lets its callbacks run. */
  async answer(left: number): Promise<void> {
    this.#answers.shift()?.(left);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function lease(link = new FakeLink(), clock = new ManualClock(1_000)) {
  return { link, clock, lease: new ProbeLease(link, "fleet:lease:api", 5_000, clock) };
}

describe("ProbeLease: the breaker's probe gate in a fleet", () => {
  it("refuses until the lease is won, asking once however often it is asked, then admits", async () => {
    const { link, lease: gate } = lease();
    assert.equal(gate.admits(), false);
    assert.equal(gate.admits(), false);
    assert.deepEqual(link.asked, [6_000], "one ask: a probe slot's life and the refused caller's wait");
    await link.answer(0);
    assert.equal(gate.admits(), true);
  });

  it("after losing, asks again only when the holder's time is up (at most a second on)", async () => {
    const { link, clock, lease: gate } = lease();
    gate.ask();
    await link.answer(300); // another holds it for 300 ms more
    assert.equal(gate.admits(), false);
    clock.advance(299);
    assert.equal(gate.admits(), false);
    assert.equal(link.asked.length, 1);
    clock.advance(1);
    assert.equal(gate.admits(), false);
    assert.equal(link.asked.length, 2);
  });

  it("gives back a lease won later than 50 ms (Redis is slow), but keeps one it had and extended late", async () => {
    const { link, clock, lease: gate } = lease();
    gate.ask();
    clock.advance(51);
    await link.answer(0);
    assert.deepEqual(link.released, ["fleet:lease:api"]);
    assert.equal(gate.admits(), false);

    const second = lease();
    second.lease.ask();
    await second.link.answer(0);
    second.clock.advance(3_500); // less than half of the 6 s left: a use extends it
    assert.equal(second.lease.admits(), true);
    second.clock.advance(60);
    await second.link.answer(0);
    assert.deepEqual(second.link.released, [], "the lease is still this replica's");
    assert.equal(second.lease.admits(), true);
  });

  it("admits by local rules while the link is down, and gives the lease back when the circuit leaves half-open", async () => {
    const { link, lease: gate } = lease();
    link.connected = false;
    assert.equal(gate.admits(), true);
    assert.deepEqual(link.asked, []);
    link.connected = true;
    gate.ask();
    await link.answer(0);
    gate.release();
    assert.deepEqual(link.released, ["fleet:lease:api"]);
    assert.equal(gate.admits(), false, "asked for again, not held");
  });

  it("gives back a lease won by an ask still in flight when the circuit left half-open", async () => {
    const { link, clock, lease: gate } = lease();
    gate.ask();
    gate.release(); // the circuit closed (or opened again) before Redis answered
    assert.deepEqual(link.released, [], "nothing held yet to give back");
    await link.answer(0);
    assert.deepEqual(link.released, ["fleet:lease:api"], "the late win is given back at once");
    clock.advance(1);
    assert.equal(gate.admits(), false, "not held: the gate asks anew");
    assert.equal(link.asked.length, 2);
  });
});
