import type { Clock } from "../breaker/Clock.ts";

/** What a probe lease needs of the fleet's link (a `FleetLink`). */
export interface LeaseLink {
  readonly connected: boolean;
  /** 0 when won, else the time left on another's hold; rejects when Redis does not answer. */
  lease(key: string, ms: number): Promise<number>;
  release(key: string): void;
}

/** A lease won later than this is a lease lost (SPEC §6.2: a probe waits at most 50 ms on Redis). */
export const leaseWaitMs = 50;
/** A replica that lost asks again after the holder's time is up, and at least this often. */
const askAgainMs = 1_000;

/**
 * One circuit's fleet-wide probe lease (SPEC §6.2): the breaker's `probeGate`, true only while this
 * replica holds the lease, so that N replicas send one probe (or run one health check) at a time to a
 * recovering upstream, not N. The gate is synchronous and never waits: the lease is asked for ahead of
 * need — when the circuit's open time ends, and again whenever the gate finds it not held — so the
 * request path touches no Redis at all. A lease lasts as long as a probe slot (the open duration):
 * a replica that dies holding it holds up the others no longer than its probe could have.
 * While the link is down, the gate is open: each replica probes by its local rules alone.
 */
export class ProbeLease {
  readonly #link: LeaseLink;
  readonly #key: string;
  readonly #ms: number;
  readonly #clock: Clock;
  #heldUntil = Number.NEGATIVE_INFINITY;
  #asking = false;
  #askAfter = Number.NEGATIVE_INFINITY;

  constructor(link: LeaseLink, key: string, ms: number, clock: Clock) {
    this.#link = link;
    this.#key = key;
    this.#ms = ms;
    this.#clock = clock;
  }

  /** The breaker's `probeGate`. */
  readonly admits = (): boolean => {
    if (!this.#link.connected) return true;
    const now = this.#clock.now();
    if (now < this.#heldUntil) return true;
    this.ask(now);
    return false;
  };

  /** Asks for the lease in the background, unless it is held, being asked for, or held by another. */
  ask(now = this.#clock.now()): void {
    if (this.#asking || now < this.#heldUntil || now < this.#askAfter || !this.#link.connected) return;
    this.#asking = true;
    const askedAt = now;
    this.#link.lease(this.#key, this.#ms).then(
      (left) => {
        this.#asking = false;
        const answeredAt = this.#clock.now();
        if (left > 0) {
          this.#askAfter = answeredAt + Math.min(left, askAgainMs);
        } else if (answeredAt - askedAt > leaseWaitMs) {
          this.#link.release(this.#key); // won too late to trust: Redis is slow, give it back
          this.#askAfter = answeredAt + askAgainMs;
        } else {
          this.#heldUntil = askedAt + this.#ms; // Redis counts from later: this ends first
        }
      },
      () => {
        this.#asking = false;
        this.#askAfter = this.#clock.now() + askAgainMs;
      },
    );
  }

  /** Gives the lease back (the circuit left half-open), so the fleet's next probe need not wait. */
  release(): void {
    const held = this.#clock.now() < this.#heldUntil;
    this.#heldUntil = Number.NEGATIVE_INFINITY;
    this.#askAfter = Number.NEGATIVE_INFINITY;
    if (held) this.#link.release(this.#key);
  }

  get held(): boolean {
    return this.#clock.now() < this.#heldUntil;
  }
}
