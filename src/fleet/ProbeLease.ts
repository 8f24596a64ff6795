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
/**
 * A replica that lost asks again after the holder's time is up, and at least this often. Also the
 * longest the breaker tells a caller refused by the gate to wait before asking again.
 */
const askAgainMs = 1_000;

/**
 * One circuit's fleet-wide probe lease (SPEC §6.2): the breaker's `probeGate`, true only while this
 * replica holds the lease, so that N replicas send one probe (or run one health check) at a time to a
 * recovering upstream, not N. The gate is synchronous and never waits: the lease is asked for ahead of
 * need — when the circuit's open time ends, and again whenever the gate finds it not held — so the
 * request path touches no Redis at all. A lease lasts as long as a probe slot (the open duration) and
 * the longest wait of a caller the gate refused (1 s), so that a caller refused while the lease was
 * being won comes back to use it before it lapses; a holder that keeps probing extends it as it goes.
 * A replica that dies holding it holds up the others no longer than that.
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
  /** Counts releases: an answer to an ask made before the latest release is not this circuit's any more. */
  #releases = 0;

  /** `probeSlotMs`: how long a probe may hold its slot (the breaker's open duration). */
  constructor(link: LeaseLink, key: string, probeSlotMs: number, clock: Clock) {
    this.#link = link;
    this.#key = key;
    this.#ms = probeSlotMs + askAgainMs;
    this.#clock = clock;
  }

  /** The breaker's `probeGate`. */
  readonly admits = (): boolean => {
    if (!this.#link.connected) return true;
    const now = this.#clock.now();
    if (now < this.#heldUntil) {
      // in use: extend it before it lapses, while a probe of this replica's may still follow
      if (this.#heldUntil - now < this.#ms / 2) this.#extend(now);
      return true;
    }
    this.ask(now);
    return false;
  };

  /** Asks for the lease in the background, unless it is held, being asked for, or held by another. */
  ask(now = this.#clock.now()): void {
    if (now < this.#heldUntil || now < this.#askAfter) return;
    this.#extend(now);
  }

  /** Asks Redis for the lease, or to extend the one held (the same script does both). */
  #extend(now: number): void {
    if (this.#asking || !this.#link.connected) return;
    this.#asking = true;
    const askedAt = now;
    const extending = now < this.#heldUntil;
    const releases = this.#releases;
    this.#link.lease(this.#key, this.#ms).then(
      (left) => {
        this.#asking = false;
        const answeredAt = this.#clock.now();
        if (releases !== this.#releases) {
          // released while asked for: a lease won (or extended) now is given back, not held to its end
          if (left === 0) this.#link.release(this.#key);
        } else if (left > 0) {
          this.#heldUntil = Number.NEGATIVE_INFINITY; // lapsed, and another replica took it
          this.#askAfter = answeredAt + Math.min(left, askAgainMs);
        } else if (answeredAt - askedAt > leaseWaitMs) {
          // a late extension is kept by Redis but not counted on here; a late win is given back
          if (extending) return;
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
    this.#releases++;
    if (held) this.#link.release(this.#key);
  }
}
