import type { Acquisition, Permit } from "../index.ts";
import type { Upstream } from "./Upstream.ts";

export type Choice =
  | { readonly upstream: Upstream; readonly permit: Permit }
  /** No upstream admitted: the one that will admit soonest, and when. */
  | { readonly upstream: Upstream; readonly permit: undefined; readonly retryAfterMs: number };

/** Whether `upstream` admits the request: a permit, or a rejection with the time to wait. */
export type Admit = (upstream: Upstream) => Acquisition;

/** Every upstream's own circuit decides. */
export const circuitAdmits: Admit = (upstream) => upstream.circuit.tryAcquire();

/**
 * Picks the upstream for a request among those that admit it: round robin (each request starts one
 * further along) or failover (always from the first, in file order). What "admits" means is the
 * caller's: the upstream's circuit, minus an upstream already tried, plus whatever later rules add.
 */
export class UpstreamBalancer {
  readonly #upstreams: readonly Upstream[];
  readonly #roundRobin: boolean;
  #next = 0;

  constructor(upstreams: readonly Upstream[], mode: "round_robin" | "failover") {
    if (upstreams.length === 0) throw new RangeError("at least one upstream is needed");
    this.#upstreams = upstreams;
    this.#roundRobin = mode === "round_robin";
  }

  /** The first upstream that `admit` admits, with its permit; else the one that admits soonest. */
  choose(admit: Admit = circuitAdmits): Choice {
    const count = this.#upstreams.length;
    let start = 0;
    if (this.#roundRobin) {
      start = this.#next;
      this.#next = start + 1 === count ? 0 : start + 1;
    }
    let soonest: Upstream | undefined;
    let soonestMs = Infinity;
    for (let i = 0; i < count; i++) {
      const upstream = this.#upstreams[(start + i) % count] as Upstream;
      const acquisition = admit(upstream);
      if (acquisition.admitted) return { upstream, permit: acquisition };
      if (soonest === undefined || acquisition.retryAfterMs < soonestMs) {
        soonest = upstream;
        soonestMs = acquisition.retryAfterMs;
      }
    }
    return { upstream: soonest as Upstream, permit: undefined, retryAfterMs: soonestMs };
  }
}
