import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runChild } from "../support/runChild.ts";

const library = new URL("../../src/index.ts", import.meta.url).href;

describe("the breaker in a process of its own", () => {
  it("keeps no timer alive: a process with open and half-open breakers exits by itself", async () => {
    const script = `
      import { CircuitBreaker } from ${JSON.stringify(library)};
      const breakers = [];
      for (let i = 0; i < 100; i++) {
        const b = new CircuitBreaker({ failureThreshold: 1, openDuration: 60_000, slowCallDuration: 10 });
        b.tryAcquire().failure();
        breakers.push(b);
      }
      const h = new CircuitBreaker({ failureThreshold: 1, openDuration: 1 });
      h.tryAcquire().failure();
      while (h.state !== "half_open") {}
      h.tryAcquire(); // a probe that never settles
      await breakers[0].execute(async () => 1).catch(() => {});
      console.log(JSON.stringify(process.getActiveResourcesInfo()));
    `;
    const result = await runChild(["--input-type=module", "-e", script]);
    assert.equal(result.signal, null, "the child was killed: something kept it alive");
    assert.equal(result.code, 0, result.stderr);
    const resources = JSON.parse(result.stdout) as string[];
    assert.deepEqual(
      resources.filter((r) => r === "Timeout" || r === "Immediate"),
      [],
    );
  });

  it("reports a throwing state-change listener asynchronously and still notifies the others", async () => {
    const script = `
      import { CircuitBreaker } from ${JSON.stringify(library)};
      const b = new CircuitBreaker();
      const seen = [];
      b.onStateChange(() => { throw new Error("listener bug"); });
      b.onStateChange((c) => seen.push(c.to));
      process.on("uncaughtException", (e) => console.log("reported:", e.message, "state:", b.state, "seen:", seen.join()));
      b.forceOpen();
      console.log("after forceOpen:", b.state);
    `;
    const result = await runChild(["--input-type=module", "-e", script]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n"), [
      "after forceOpen: forced_open",
      "reported: listener bug state: forced_open seen: forced_open",
    ]);
  });
});
