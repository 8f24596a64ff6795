import type { Upstream } from "../Upstream.ts";
import { StdioUpstream } from "./StdioUpstream.ts";

/**
 * The upstreams that serve sessions only (stdio ones of the earlier era), for sessionless calls to go around — unless
 * every upstream is one, when such a call gets its 400 from the upstream (SPEC §5). Read at each call: a stdio
 * upstream learns its server's era as its first process starts (SPEC §8.3), and one of the 2026-07-28 era serves
 * sessionless calls.
 */
export function sessionsOnly(upstreams: readonly Upstream[]): ReadonlySet<Upstream> {
  const stdio = upstreams.filter((u) => u instanceof StdioUpstream);
  return stdio.length === 0 ? new Set() : new SessionsOnlyNow(upstreams.length, stdio);
}

/**
 * {@link sessionsOnly} as it stands at each reading, for routes with stdio upstreams (a url upstream always serves
 * sessionless calls): a pass over the stdio ones per sessionless call, nothing allocated.
 */
class SessionsOnlyNow implements ReadonlySet<Upstream> {
  readonly #all: number;
  readonly #stdio: readonly Upstream[];

  constructor(all: number, stdio: readonly Upstream[]) {
    this.#all = all;
    this.#stdio = stdio;
  }

  get size(): number {
    let only = 0;
    for (const u of this.#stdio) if (!u.servesSessionless) only++;
    return only < this.#all ? only : 0;
  }

  has(upstream: Upstream): boolean {
    return !upstream.servesSessionless && this.#stdio.includes(upstream) && this.size > 0;
  }

  forEach(callback: (value: Upstream, key: Upstream, set: ReadonlySet<Upstream>) => void): void {
    for (const upstream of this.#now()) callback(upstream, upstream, this);
  }

  entries(): SetIterator<[Upstream, Upstream]> {
    return this.#now().entries();
  }

  keys(): SetIterator<Upstream> {
    return this.#now().keys();
  }

  values(): SetIterator<Upstream> {
    return this.#now().values();
  }

  [Symbol.iterator](): SetIterator<Upstream> {
    return this.#now().values();
  }

  #now(): Set<Upstream> {
    return new Set(this.size > 0 ? this.#stdio.filter((u) => !u.servesSessionless) : []);
  }
}
