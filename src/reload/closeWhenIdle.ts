import { systemTimers, type Timers } from "../time/Timers.ts";
import type { Upstream } from "../upstreams/Upstream.ts";

/** How often a draining upstream is looked at: node tells of no moment its last request ends. */
const lookEveryMs = 100;

/**
 * Closes an upstream a reload removed or replaced once its requests in flight have ended (SPEC §6.3),
 * and after `maxMs` at the latest: a stream that never ends does not hold its connections forever.
 */
export async function closeWhenIdle(
  upstream: Upstream,
  maxMs: number,
  timers: Timers = systemTimers,
): Promise<void> {
  const deadline = timers.now() + maxMs;
  while (upstream.inFlight > 0 && timers.now() < deadline) {
    await new Promise<void>((resolve) => timers.setTimeout(resolve, lookEveryMs));
  }
  await upstream.close();
}
