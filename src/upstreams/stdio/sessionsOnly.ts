import type { Upstream } from "../Upstream.ts";
import { StdioUpstream } from "./StdioUpstream.ts";

/**
 * The upstreams of a route that serve sessions only (stdio ones of the earlier era), for a sessionless
 * call to go around — unless every upstream is one, when such a call gets its 400 from the upstream
 * (SPEC §5). Read at each sessionless call, not once: a stdio upstream learns its server's era as its
 * first process starts (SPEC §8.3), and one of the 2026-07-28 era serves sessionless calls.
 */
export interface SessionsOnly {
  /** Some upstream of the route serves sessions only, and not every one does. */
  readonly any: boolean;
  has(upstream: Upstream): boolean;
}

const none: SessionsOnly = { any: false, has: () => false };

export function sessionsOnly(upstreams: readonly Upstream[]): SessionsOnly {
  const stdio = upstreams.filter((u) => u instanceof StdioUpstream);
  return stdio.length === 0 ? none : new StdioSessionsOnly(upstreams.length, stdio);
}

/** A pass over the route's stdio upstreams per reading (a url upstream serves sessionless calls always). */
class StdioSessionsOnly implements SessionsOnly {
  readonly #all: number;
  readonly #stdio: readonly Upstream[];

  constructor(all: number, stdio: readonly Upstream[]) {
    this.#all = all;
    this.#stdio = stdio;
  }

  get any(): boolean {
    let only = 0;
    for (const upstream of this.#stdio) if (!upstream.servesSessionless) only++;
    return only > 0 && only < this.#all;
  }

  has(upstream: Upstream): boolean {
    return !upstream.servesSessionless && this.#stdio.includes(upstream) && this.any;
  }
}
