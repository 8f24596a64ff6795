import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitBreaker, type CircuitBreakerOptions } from "../../src/index.ts";

function rejects(options: unknown, kind: typeof TypeError | typeof RangeError, message: RegExp) {
  assert.throws(
    () => new CircuitBreaker(options as CircuitBreakerOptions),
    (error: unknown) => {
      assert.ok(error instanceof kind, `expected a ${kind.name}, got ${String(error)}`);
      assert.match(error.message, message);
      assert.equal((error as { code?: string }).code, "BREAKWATER_INVALID_OPTION");
      return true;
    },
  );
}

describe("options", () => {
  it("uses the defaults of the spec", () => {
    const breaker = new CircuitBreaker();
    assert.equal(breaker.name, "circuit");
    assert.equal(breaker.state, "closed");
  });

  it("refuses a threshold below 1, naming the option and the value", () => {
    rejects(
      { failureThreshold: 0 },
      RangeError,
      /"failureThreshold" must be an integer ≥ 1, or Infinity, got 0/,
    );
  });

  it("refuses a fractional count", () => {
    rejects({ successThreshold: 1.5 }, RangeError, /"successThreshold" must be an integer ≥ 1, got 1.5/);
  });

  it("refuses Infinity where a bound is needed", () => {
    rejects({ halfOpenMaxConcurrent: Infinity }, RangeError, /"halfOpenMaxConcurrent".*got Infinity/);
  });

  it("refuses a rate outside (0, 1]", () => {
    rejects(
      { failureRateThreshold: 0 },
      RangeError,
      /"failureRateThreshold" must be a number in \(0, 1\], got 0/,
    );
    rejects({ failureRateThreshold: 1.1 }, RangeError, /got 1.1/);
  });

  it("refuses non-positive or infinite durations", () => {
    rejects({ openDuration: -1 }, RangeError, /"openDuration" must be a finite number of ms > 0, got -1/);
    rejects({ windowDuration: Infinity }, RangeError, /"windowDuration"/);
    rejects({ slowCallDuration: 0 }, RangeError, /"slowCallDuration"/);
  });

  it("refuses a maxOpenDuration shorter than openDuration", () => {
    rejects(
      { openDuration: 5_000, maxOpenDuration: 1_000 },
      RangeError,
      /"maxOpenDuration" must be ≥ openDuration/,
    );
  });

  it("refuses values of the wrong type with a TypeError", () => {
    rejects({ failureThreshold: "5" }, TypeError, /"failureThreshold" must be a number, got "5"/);
    rejects({ failureThreshold: Number.NaN }, TypeError, /"failureThreshold" must be a number, got NaN/);
    rejects({ name: 7 }, TypeError, /"name" must be a string, got 7/);
    rejects({ halfOpenProbesOnly: "yes" }, TypeError, /"halfOpenProbesOnly" must be a boolean, got "yes"/);
    rejects({ clock: Date }, TypeError, /"clock" must be an object with a now\(\) method/);
    rejects({ isFailure: true }, TypeError, /"isFailure" must be a function, got true/);
    rejects(null, TypeError, /"options" must be an object, got null/);
  });

  it("refuses an unknown option, so that a typo is not silently ignored", () => {
    rejects({ failureTreshold: 3 }, TypeError, /unknown option "failureTreshold"/);
  });
});
