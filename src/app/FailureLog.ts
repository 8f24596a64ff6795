import type { Logger } from "pino";
import type { ChargedReport } from "../exchange/Settlement.ts";
import type { FailureCause } from "../judges/failureCause.ts";
import type { Timer, Timers } from "../time/Timers.ts";

export interface FailureLogOptions {
  readonly logger: Logger;
  /** The intervals' timers; tests step them. */
  readonly timers: Timers;
  /** How long repeats of one cause are counted before one line tells their count; default 10 s. */
  readonly intervalMs?: number;
  /** Causes counted at once per upstream; a further one is counted with the others. Default 16. */
  readonly maxCausesPerUpstream?: number;
}

/** Repeats of one cause of one upstream, counted until its interval ends. */
interface Tally {
  count: number;
  timer: Timer;
}

/** The key under which causes beyond `maxCausesPerUpstream` are counted together. */
export const otherCauses = "other";

/**
 * The warn line of every failure an upstream is charged with, naming its cause, rate-limited per
 * upstream and cause so that a dead upstream cannot flood the log: the first failure of a cause is
 * logged at once; its repeats are counted, and at the end of each interval one line tells how many
 * there were (none: nothing is logged, and the next failure of that cause is logged at once again).
 * Memory is bounded: at most `maxCausesPerUpstream` tallies per upstream, each dropped after an
 * interval without a repeat.
 */
export class FailureLog {
  readonly #logger: Logger;
  readonly #timers: Timers;
  readonly #intervalMs: number;
  readonly #maxCauses: number;
  /** Per upstream name, its causes being counted. */
  readonly #tallies = new Map<string, Map<FailureCause, Tally>>();

  constructor({ logger, timers, intervalMs = 10_000, maxCausesPerUpstream = 16 }: FailureLogOptions) {
    this.#logger = logger;
    this.#timers = timers;
    this.#intervalMs = intervalMs;
    this.#maxCauses = maxCausesPerUpstream;
  }

  charged(report: ChargedReport): void {
    const upstream = report.upstream.name;
    let causes = this.#tallies.get(upstream);
    if (causes === undefined) {
      causes = new Map();
      this.#tallies.set(upstream, causes);
    }
    let key = report.cause;
    if (!causes.has(key) && causes.size >= this.#maxCauses) key = otherCauses;
    const tally = causes.get(key);
    if (tally !== undefined) {
      tally.count++;
      return;
    }
    const { tool, cause, problem } = report;
    this.#logger.warn(
      {
        upstream,
        ...(tool === undefined ? {} : { tool }),
        cause,
        ...(problem === undefined ? {} : { problem }),
      },
      // a response that could not be passed on keeps its own name (README, Outcomes)
      problem === undefined ? "upstream failure" : "broken upstream response",
    );
    causes.set(key, { count: 0, timer: this.#after(upstream, key) });
  }

  /** Logs the counts not yet told and stops every interval. */
  close(): void {
    for (const [upstream, causes] of this.#tallies) {
      for (const [cause, tally] of causes) {
        this.#timers.clearTimeout(tally.timer);
        if (tally.count > 0) this.#repeated(upstream, cause, tally.count);
      }
    }
    this.#tallies.clear();
  }

  #after(upstream: string, cause: FailureCause): Timer {
    return this.#timers.setTimeout(() => this.#intervalOver(upstream, cause), this.#intervalMs);
  }

  #intervalOver(upstream: string, cause: FailureCause): void {
    const causes = this.#tallies.get(upstream);
    const tally = causes?.get(cause);
    if (causes === undefined || tally === undefined) return;
    if (tally.count === 0) {
      causes.delete(cause);
      if (causes.size === 0) this.#tallies.delete(upstream);
      return;
    }
    this.#repeated(upstream, cause, tally.count);
    tally.count = 0;
    tally.timer = this.#after(upstream, cause);
  }

  #repeated(upstream: string, cause: FailureCause, count: number): void {
    this.#logger.warn(
      { upstream, cause, count, intervalSecs: this.#intervalMs / 1_000 },
      "upstream failures repeated",
    );
  }
}
