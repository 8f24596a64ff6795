import type { Acquisition, Permit } from "../breaker/Acquisition.ts";
import { admits } from "../circuits/serverStatus.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import { overloaded } from "../proxy/UpstreamBalancer.ts";
import type { Upstream } from "../upstreams/Upstream.ts";

/**
 * Choosing an upstream for a session before the call is sent (its id must be in the request as it
 * leaves), by peeking at circuits and taking no permit: the permit is taken when the call itself is
 * sent, by the pool's own admission.
 */

/** What a peek answers for an upstream that would admit: a permit with nothing to settle. */
const peeked: Permit = { admitted: true, success() {}, failure() {}, neutral() {} };
/** When a circuit that does not admit says no time (forced open), the wait a client is told. */
const unknownWaitMs = 1_000;

/** Whether `upstream` would admit a call now: its circuit's state, and room under `max_in_flight`. */
function peek(upstream: Upstream): Acquisition {
  if (upstream.maxInFlight > 0 && upstream.inFlight >= upstream.maxInFlight) return overloaded;
  const state = upstream.circuit.state;
  if (admits(state)) return peeked;
  return { admitted: false, state, retryAfterMs: upstream.circuit.metrics().retryAfterMs ?? unknownWaitMs };
}

/** The upstreams whose circuits admit now, in the pool's order. */
export function admitted(upstreams: readonly Upstream[]): Upstream[] {
  return upstreams.filter((upstream) => peek(upstream).admitted);
}

/** How long until the first of `upstreams` may admit a call. */
export function soonestRetryMs(upstreams: readonly Upstream[]): number {
  let soonest = Infinity;
  for (const upstream of upstreams) {
    const acquisition = peek(upstream);
    soonest = Math.min(soonest, acquisition.admitted ? 0 : acquisition.retryAfterMs);
  }
  return soonest === Infinity ? unknownWaitMs : soonest;
}

/**
 * One of the pool's upstreams that `eligible` allows and that admits now, as the pool's balancer
 * chooses (round robin or failover, SPEC §7.1), or how long until one may.
 */
export function chooseUpstream(
  pool: ServerPool,
  eligible: (upstream: Upstream) => boolean,
): { readonly upstream: Upstream } | { readonly retryAfterMs: number } {
  const ineligible = { admitted: false, state: "closed", retryAfterMs: Infinity } as const;
  const choice = pool.balancer.choose((upstream) => (eligible(upstream) ? peek(upstream) : ineligible));
  if (choice.permit !== undefined) return { upstream: choice.upstream };
  return { retryAfterMs: Number.isFinite(choice.retryAfterMs) ? choice.retryAfterMs : unknownWaitMs };
}
