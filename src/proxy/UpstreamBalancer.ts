import type { Permit } from "../index.ts";
import type { Upstream } from "./Upstream.ts";

export type Choice =
  | { readonly upstream: Upstream; readonly permit: Permit }
  /** No upstream admitted: the one that will admit soonest, and when. */
  | { readonly upstream: Upstream; readonly permit: undefined; readonly retryAfterMs: number };

/**
 * Picks the upstream for a request among those whose circuit admits it: round robin (each request
 * starts one further along) or failover (always from the first, in file order).
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

  /** The first upstream (other than `exclude`) whose circuit admits the request. */
  choose(exclude?: Upstream): Choice | undefined {
    const count = this.#upstreams.length;
    let start = 0;
    if (this.#roundRobin) {
      start = this.#next;
      this.#next = start + 1 === count ? 0 : start + 1;
    }
    let soonest: { upstream: Upstream; retryAfterMs: number } | undefined;
    for (let i = 0; i < count; i++) {
      const upstream = this.#upstreams[(start + i) % count] as Upstream;
      if (upstream === exclude) continue;
      const acquisition = upstream.breaker.tryAcquire();
      if (acquisition.admitted) return { upstream, permit: acquisition };
      if (soonest === undefined || acquisition.retryAfterMs < soonest.retryAfterMs) {
        soonest = { upstream, retryAfterMs: acquisition.retryAfterMs };
      }
    }
    return soonest === undefined ? undefined : { ...soonest, permit: undefined };
  }
}
