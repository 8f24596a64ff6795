import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CircuitBreaker, type Permit, type StateChange } from "../../src/index.ts";
import { ManualClock } from "../support/ManualClock.ts";
import {
  type ModelCall,
  type ModelOptions,
  type ModelOutcome,
  type Reaction,
  ReferenceModel,
} from "./ReferenceModel.ts";

type Step =
  | { kind: "acquire"; probe: boolean }
  | { kind: "settle"; pick: number; outcome: ModelOutcome }
  | { kind: "settleAgain"; pick: number; outcome: ModelOutcome }
  | { kind: "tick"; ms: number }
  | { kind: "observe" }
  | { kind: "forceOpen" | "disable" | "reset" | "close" }
  | { kind: "openFor"; ms: number };

const outcome = fc.constantFrom<ModelOutcome>("success", "failure", "neutral", "rate_failure");

/** Settles a real permit as the model's `outcome` says. */
function settleAs(permit: Permit, outcome: ModelOutcome): void {
  if (outcome === "rate_failure") permit.failure({ consecutive: false });
  else permit[outcome]();
}

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({
      kind: fc.constant("acquire" as const),
      // a health check's acquisition, now and then
      probe: fc.oneof(
        { weight: 4, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    }),
  },
  { weight: 30, arbitrary: fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), outcome }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("settleAgain" as const), pick: fc.nat(), outcome }) },
  {
    weight: 20,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      // mostly small steps, sometimes a bucket or an open time, now and then an idle gap of minutes
      ms: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 50 }) },
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 300_000 }) },
        // a clock that steps back (set back by hand, or a wall clock corrected)
        { weight: 1, arbitrary: fc.integer({ min: -3_600_000, max: -1 }) },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "observe" } as const) },
  { weight: 2, arbitrary: fc.constantFrom({ kind: "forceOpen" } as const, { kind: "disable" } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: "reset" } as const) },
  // on another's word, as a fleet relays it
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("openFor" as const), ms: fc.integer({ min: 1, max: 5_000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "close" } as const) },
);

/** A listener that calls back into the breaker when told of a change to one state. */
const reaction: fc.Arbitrary<Reaction> = fc.record({
  on: fc.constantFrom("closed", "open", "half_open", "forced_open", "disabled"),
  action: fc.constantFrom("forceOpen", "disable", "reset", "none", "none"),
});

const options: fc.Arbitrary<ModelOptions & { slowCalls: boolean }> = fc
  .record({
    failureThreshold: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Infinity)),
    failureRateThreshold: fc.constantFrom(0.2, 0.5, 0.75, 1),
    windowDuration: fc.integer({ min: 100, max: 5_000 }),
    minimumRequests: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(Infinity)),
    openDuration: fc.integer({ min: 10, max: 2_000 }),
    successThreshold: fc.integer({ min: 1, max: 3 }),
    halfOpenMaxConcurrent: fc.integer({ min: 1, max: 3 }),
    maxOpenFactor: fc.integer({ min: 1, max: 8 }),
    slowCallDuration: fc.integer({ min: 5, max: 100 }),
    slowCalls: fc.boolean(),
    halfOpenProbesOnly: fc.boolean(),
  })
  .map(({ maxOpenFactor, ...o }) => ({
    ...o,
    maxOpenDuration: o.openDuration * maxOpenFactor,
    slowCallDuration: o.slowCalls ? o.slowCallDuration : Infinity,
  }));

/** Runs one sequence of steps on the breaker and on the model, comparing them after every step. */
function check(
  o: ModelOptions & { slowCalls: boolean },
  react: Reaction,
  steps: Step[],
  start: number,
): void {
  const clock = new ManualClock(start);
  const { slowCalls, ...numbers } = o;
  const breaker = new CircuitBreaker({
    ...numbers,
    clock,
    ...(slowCalls ? {} : { slowCallDuration: undefined }),
  } as ConstructorParameters<typeof CircuitBreaker>[0]);
  const model = new ReferenceModel(o, start);
  model.reaction = react;
  const changes: StateChange[] = [];
  // the reacting listener comes first, so that a change it causes could overtake the one it was told of
  breaker.onStateChange((change) => {
    if (change.to === react.on && react.action !== "none") breaker[react.action]();
  });
  breaker.onStateChange((change) => changes.push(change));
  const open: [Permit, ModelCall][] = [];
  const done: [Permit, ModelCall][] = [];

  steps.forEach((s, index) => {
    const now = clock.now();
    const where = `step ${index} (${JSON.stringify(s)}) at t=${now}`;
    switch (s.kind) {
      case "acquire": {
        const real = s.probe ? breaker.tryAcquire({ probe: true }) : breaker.tryAcquire();
        const expected = model.acquire(now, s.probe);
        assert.equal(real.admitted, expected.admitted, `${where}: admitted`);
        if (real.admitted && expected.admitted) open.push([real, expected.call]);
        else assert.deepEqual(real, expected, where);
        break;
      }
      case "settle":
      case "settleAgain": {
        const pool = s.kind === "settle" ? open : done;
        if (pool.length === 0) break;
        const [pair] =
          s.kind === "settle" ? pool.splice(s.pick % pool.length, 1) : [pool[s.pick % pool.length]];
        if (pair === undefined) break;
        settleAs(pair[0], s.outcome);
        model.settle(pair[1], s.outcome, now);
        if (s.kind === "settle") done.push(pair);
        break;
      }
      case "tick":
        clock.advance(s.ms);
        break;
      case "observe":
        assert.equal(breaker.state, model.state(now), where);
        break;
      case "forceOpen":
        breaker.forceOpen();
        model.forceOpen(now);
        break;
      case "disable":
        breaker.disable();
        model.disable(now);
        break;
      case "reset":
        breaker.reset();
        model.reset(now);
        break;
      case "openFor":
        breaker.openFor(s.ms);
        model.openFor(now, s.ms);
        break;
      case "close":
        breaker.close();
        model.close(now);
        break;
    }
    // not after a tick: reading the metrics derives half-open from the clock, and the next call must
    // get to meet an open circuit whose time is up
    if (s.kind !== "tick") {
      assert.deepEqual(breaker.metrics(), model.metrics(clock.now()), `${where}: metrics`);
    }
    assert.deepEqual(changes, model.changes, `${where}: transitions`);
  });
}

describe("the breaker against a reference model of SPEC §1", () => {
  it("agrees on every admission, metric and transition over random call sequences", () => {
    fc.assert(
      fc.property(
        options,
        reaction,
        // size "max": fast-check would otherwise keep arrays to about ten steps, too few to reach half-open
        fc.array(step, { minLength: 1, maxLength: 300, size: "max" }),
        fc.integer({ min: 0, max: 1e9 }),
        check,
      ),
      { numRuns: 300 },
    );
  });
});
