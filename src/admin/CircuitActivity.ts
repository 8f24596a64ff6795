import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { StateChange } from "../breaker/CircuitState.ts";
import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { SettledReport } from "../exchange/Settlement.ts";
import { systemTimers, type Timer, type Timers } from "../time/Timers.ts";

/** Requests in one sample period of one upstream. */
export interface ActivitySample {
  /** Wall-clock end of the period, ms since the epoch. */
  readonly at: number;
  readonly requests: number;
  readonly failures: number;
  readonly rejected: number;
  /** Seconds the sample covers (the period in progress covers less than `sampleMs`). */
  readonly seconds: number;
}

/** A state change as the dashboard lists it, with wall-clock time. */
export interface RecordedTransition {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

interface Track {
  readonly breaker: CircuitBreaker;
  requests: number;
  failures: number;
  rejectedSeen: number;
  /** The circuit's refusals of the proxy's own health checks: not clients' rejections, left out. */
  checkRefusals: number;
  readonly samples: ActivitySample[];
  readonly transitions: RecordedTransition[];
}

/**
 * What the dashboard charts: per upstream, requests, failures and rejections per sample period over the
 * last minutes, and its recent state changes. Counting a request is two additions; a timer (unref'd,
 * one for all upstreams) closes a sample every `sampleMs`. Memory is fixed: `keep` samples and
 * `keepTransitions` changes per upstream.
 */
export class CircuitActivity {
  readonly sampleMs: number;
  readonly #tracks = new Map<string, Track>();
  readonly #keep: number;
  readonly #keepTransitions: number;
  /** When the next sample is closed (samples are stamped with wall-clock time, for the dashboard). */
  readonly #timers: Timers;
  #timer: Timer | undefined;
  #periodStart = Date.now();

  constructor(
    circuits: CircuitRegistry,
    {
      sampleMs = 5_000,
      keep = 60,
      keepTransitions = 10,
      timers = systemTimers,
    }: { sampleMs?: number; keep?: number; keepTransitions?: number; timers?: Timers } = {},
  ) {
    this.sampleMs = sampleMs;
    this.#timers = timers;
    this.#keep = keep;
    this.#keepTransitions = keepTransitions;
    circuits.onCreated(({ upstream, tool, breaker }) => {
      if (tool !== undefined) return undefined;
      this.#tracks.set(upstream, {
        breaker,
        requests: 0,
        failures: 0,
        rejectedSeen: breaker.metrics().rejectedRequests,
        checkRefusals: 0,
        samples: [],
        transitions: [],
      });
      return breaker.onStateChange((change) => this.#transition(upstream, change, Date.now()));
    });
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.sample(Date.now());
      this.start();
    }, this.sampleMs);
  }

  stop(): void {
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  settled(report: SettledReport): void {
    const track = this.#tracks.get(report.upstream.name);
    if (track === undefined) return;
    track.requests++;
    if (report.outcome === "failure") track.failures++;
  }

  /** A health check of `upstream` was refused by its circuit: not a client's rejection, not charted. */
  healthCheckRefused(upstream: string): void {
    const track = this.#tracks.get(upstream);
    if (track !== undefined) track.checkRefusals++;
  }

  #transition(upstream: string, change: StateChange, at: number): void {
    const list = this.#tracks.get(upstream)?.transitions;
    if (list === undefined) return;
    list.push({ at, from: change.from, to: change.to, reason: change.reason });
    if (list.length > this.#keepTransitions) list.shift();
  }

  /** Closes the current sample period of every upstream. */
  sample(at: number): void {
    for (const track of this.#tracks.values()) {
      const rejected = track.breaker.metrics().rejectedRequests - track.checkRefusals;
      track.samples.push({
        at,
        requests: track.requests,
        failures: track.failures,
        rejected: rejected - track.rejectedSeen,
        seconds: (at - this.#periodStart) / 1_000,
      });
      if (track.samples.length > this.#keep) track.samples.shift();
      track.requests = 0;
      track.failures = 0;
      track.rejectedSeen = rejected;
    }
    this.#periodStart = at;
  }

  /** Closed samples, oldest first, then the period in progress (as of `now`), so the picture is live. */
  samples(upstream: string, now: number): readonly ActivitySample[] {
    const track = this.#tracks.get(upstream);
    if (track === undefined) return [];
    const rejected = track.breaker.metrics().rejectedRequests - track.checkRefusals - track.rejectedSeen;
    const seconds = (now - this.#periodStart) / 1_000;
    return [
      ...track.samples,
      { at: now, requests: track.requests, failures: track.failures, rejected, seconds },
    ];
  }

  transitions(upstream: string): readonly RecordedTransition[] {
    return this.#tracks.get(upstream)?.transitions ?? [];
  }
}
