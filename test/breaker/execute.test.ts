import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BreakwaterError, CircuitBreaker, CircuitOpenError, isCircuitOpenError } from "../../src/index.ts";
import { ManualClock } from "../support/ManualClock.ts";

const boom = new Error("boom");
const fail = async () => {
  throw boom;
};

function breaker(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  return new CircuitBreaker({ name: "svc", clock: new ManualClock(), minimumRequests: Infinity, ...options });
}

describe("execute", () => {
  it("returns the value of an async function and counts a success", async () => {
    const b = breaker();
    assert.equal(await b.execute(async () => 42), 42);
    assert.equal(b.metrics().totalRequests, 1);
  });

  it("returns the value of a synchronous function as a promise", async () => {
    const b = breaker();
    assert.equal(await b.execute(() => "sync"), "sync");
  });

  it("rethrows a thrown error and counts a failure", async () => {
    const b = breaker({ failureThreshold: 1 });
    await assert.rejects(b.execute(fail), boom);
    assert.equal(b.state, "open");
  });

  it("counts a synchronous throw as a failure and rejects with it", async () => {
    const b = breaker({ failureThreshold: 1 });
    await assert.rejects(
      b.execute(() => {
        throw boom;
      }),
      boom,
    );
    assert.equal(b.state, "open");
  });

  it("rejects with CircuitOpenError, without calling the function, when open", async () => {
    const b = breaker({ failureThreshold: 1, openDuration: 2_000 });
    await b.execute(fail).catch(() => {});
    let called = false;
    const error = await b
      .execute(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    assert.equal(called, false);
    assert.ok(error instanceof CircuitOpenError);
    assert.ok(isCircuitOpenError(error));
    assert.equal(error.code, "BREAKWATER_CIRCUIT_OPEN");
    assert.equal(error.retryAfterMs, 2_000);
    assert.equal(error.state, "open");
    assert.equal(error.circuit, "svc");
    assert.equal(error.message, 'circuit "svc" is open; retry in 2000 ms');
  });

  it("runs a probe in half-open with { probe: true } when halfOpenProbesOnly keeps other calls out", async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({
      clock,
      failureThreshold: 1,
      openDuration: 100,
      successThreshold: 1,
      halfOpenProbesOnly: true,
    });
    await assert.rejects(b.execute(fail), boom);
    clock.advance(100);
    let called = 0;
    await assert.rejects(
      b.execute(async () => called++),
      (error: unknown) => isCircuitOpenError(error) && error.state === "half_open",
    );
    assert.equal(await b.execute(async () => ++called, { probe: true }), 1);
    assert.equal(b.state, "closed");
  });

  it("captures no stack frames for a rejection", async () => {
    const b = breaker();
    b.forceOpen();
    const error = await b.execute(async () => 1).catch((e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.equal(error.stack, 'CircuitOpenError: circuit "svc" is forced_open; retry in 30000 ms');
  });

  it("rejects with an error that is an Error and a BreakwaterError by prototype", async () => {
    const b = breaker();
    b.forceOpen();
    const error = await b.execute(async () => 1).catch((e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.ok(error instanceof BreakwaterError);
    assert.equal(String(error), 'CircuitOpenError: circuit "svc" is forced_open; retry in 30000 ms');
  });

  it("lets isFailure judge an error a success, a failure or neutral", async () => {
    const b = breaker({
      failureThreshold: 1,
      isFailure: (e) =>
        (e as Error).message === "404" ? false : (e as Error).message === "gone" ? "neutral" : true,
    });
    await b.execute(() => Promise.reject(new Error("404"))).catch(() => {});
    await b.execute(() => Promise.reject(new Error("gone"))).catch(() => {});
    assert.deepEqual([b.state, b.metrics().totalRequests, b.metrics().failedRequests], ["closed", 1, 0]);
  });

  it("lets isResultFailure count a returned value as a failure", async () => {
    const b = breaker({
      failureThreshold: 1,
      isResultFailure: (v) => (v as { status: number }).status >= 500,
    });
    assert.deepEqual(await b.execute(async () => ({ status: 503 })), { status: 503 });
    assert.equal(b.state, "open");
  });

  it('lets a verdict of "rate_only" count a failure toward the rate, not the consecutive count', async () => {
    const b = breaker({
      failureThreshold: 1,
      isResultFailure: (v) => (v === "denied" ? "rate_only" : false),
    });
    assert.equal(await b.execute(async () => "denied"), "denied");
    await b.execute(fail, { isFailure: () => "rate_only" }).catch(() => {});
    const metrics = b.metrics();
    assert.deepEqual([metrics.state, metrics.failedRequests, metrics.consecutiveFailures], ["closed", 2, 0]);
  });

  it("lets a per-call option override the breaker's", async () => {
    const b = breaker({ failureThreshold: 1, isFailure: () => true });
    await b.execute(fail, { isFailure: () => "neutral" }).catch(() => {});
    assert.equal(b.state, "closed");
  });

  it("counts a verdict function that throws as a failure and rejects with its error", async () => {
    const bug = new Error("verdict bug");
    const b = breaker({
      failureThreshold: 1,
      isResultFailure: () => {
        throw bug;
      },
    });
    await assert.rejects(
      b.execute(async () => 1),
      bug,
    );
    assert.equal(b.state, "open");
  });

  it("always answers a promise, even when a synchronous call's verdict function throws", async () => {
    const own = new Error("the caller's own error");
    const b = breaker({
      failureThreshold: 1,
      isFailure: () => {
        throw new Error("verdict bug");
      },
    });
    let answer: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      answer = b.execute(() => {
        throw own;
      });
    });
    await assert.rejects(answer as Promise<unknown>, own, "the caller's error is not lost");
    assert.equal(b.state, "open", "a verdict that throws counts as a failure");
  });

  it("rejects, never throws, when a synchronous value's verdict function throws", async () => {
    const bug = new Error("verdict bug");
    const b = breaker({
      isResultFailure: () => {
        throw bug;
      },
    });
    let answer: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      answer = b.execute(() => 1);
    });
    await assert.rejects(answer as Promise<unknown>, bug);
  });

  it("passes the caller's signal to the function", async () => {
    const b = breaker();
    const controller = new AbortController();
    const seen = await b.execute((signal) => signal, { signal: controller.signal });
    assert.equal(seen, controller.signal);
  });

  it("passes a signal that never aborts, and keeps no listeners on it, when the caller gave none", async () => {
    const b = breaker();
    const signal = await b.execute((s) => s);
    let heard = false;
    signal.addEventListener("abort", () => {
      heard = true;
    });
    signal.onabort = () => {
      heard = true;
    };
    assert.equal(signal.aborted, false);
    assert.equal(signal.onabort, null);
    assert.equal(heard, false);
  });

  it("counts a call abandoned through the caller's signal as neutral", async () => {
    const b = breaker({ failureThreshold: 1 });
    const controller = new AbortController();
    const call = b.execute(
      (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        ),
      { signal: controller.signal },
    );
    controller.abort();
    await assert.rejects(call, { name: "AbortError" });
    assert.deepEqual([b.state, b.metrics().totalRequests], ["closed", 0]);
  });

  it("does not start a call whose signal is already aborted", async () => {
    const b = breaker();
    let called = false;
    await assert.rejects(
      b.execute(
        () => {
          called = true;
        },
        { signal: AbortSignal.abort() },
      ),
      { name: "AbortError" },
    );
    assert.equal(called, false);
    assert.equal(b.metrics().totalRequests, 0);
  });

  it("frees a half-open probe slot when the call settles", async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, failureThreshold: 1, openDuration: 10, successThreshold: 2 });
    await b.execute(fail).catch(() => {});
    clock.advance(10);
    await b.execute(async () => 1);
    await b.execute(async () => 1);
    assert.equal(b.state, "closed");
  });
});
