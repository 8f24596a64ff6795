/**
 * The circuit breaker on its own: a flaky "payments" service goes down, the circuit opens and callers
 * get an instant answer instead of waiting; the service comes back, a probe finds out, the circuit
 * closes. Runs for about two seconds: `npm start`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CircuitBreaker, isCircuitOpenError } from "../src/index.ts";

let serviceUp = true;
async function pay(amount: number): Promise<string> {
  await sleep(5);
  if (!serviceUp) throw new Error("payments: connection refused");
  return `paid ${amount}`;
}

const breaker = new CircuitBreaker({
  name: "payments",
  failureThreshold: 3,
  openDuration: 300,
  maxOpenDuration: 1_200, // each failed probe doubles the open time, up to this
  successThreshold: 2,
});
const started = performance.now();
const elapsed = () => `${String(Math.round(performance.now() - started)).padStart(5)} ms`;
breaker.onStateChange(({ from, to, reason }) =>
  console.log(`${elapsed()}  circuit ${from} → ${to} (${reason})`),
);

const tally = { paid: 0, failed: 0, rejectedFast: 0 };
for (let call = 1; call <= 60; call++) {
  if (call === 10) {
    serviceUp = false;
    console.log(`${elapsed()}  -- the payments service goes down --`);
  }
  if (call === 40) {
    serviceUp = true;
    console.log(`${elapsed()}  -- the payments service is back --`);
  }
  try {
    await breaker.execute(() => pay(call));
    tally.paid++;
  } catch (error) {
    if (isCircuitOpenError(error)) tally.rejectedFast++;
    else tally.failed++;
  }
  await sleep(25);
}

console.log(`${elapsed()}  ${JSON.stringify(tally)}`);
console.log(`${elapsed()}  metrics: ${JSON.stringify(breaker.metrics())}`);
