import type { Upstream } from "../proxy/Upstream.ts";

/** How often a draining upstream is looked at: node tells of no moment its last request ends. */
const lookEveryMs = 100;

/**
 * Closes an upstream a reload removed or replaced once its requests in flight have ended (SPEC §6.3),
 * and after `maxMs` at the latest: a stream that never ends does not hold its connections forever.
 */
export async function closeWhenIdle(upstream: Upstream, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (upstream.inFlight > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, lookEveryMs).unref());
  }
  await upstream.close();
}
