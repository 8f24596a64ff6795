import type { Outcome, Permit } from "../breaker/Acquisition.ts";
import type { FailureOptions } from "../breaker/FailureOptions.ts";
import type { ExchangeOutcome } from "../judges/ExchangeJudge.ts";

/**
 * The permits of a call that two circuits admitted: its upstream's and a narrower one's (a tool's,
 * SPEC §3.2). An outcome settles both; a split outcome settles each with its own.
 */
export class PairedPermit implements Permit {
  readonly admitted = true;
  readonly upstream: Permit;
  readonly narrow: Permit;
  /** What the narrower circuit guards (the tool's name). */
  readonly scope: string;

  constructor(upstream: Permit, narrow: Permit, scope: string) {
    this.upstream = upstream;
    this.narrow = narrow;
    this.scope = scope;
  }

  success(): void {
    this.settle("success");
  }

  failure(options?: FailureOptions): void {
    this.upstream.failure(options);
    this.narrow.failure(options);
  }

  neutral(): void {
    this.settle("neutral");
  }

  /** Settles both permits; returns the narrower circuit's outcome. */
  settle(outcome: ExchangeOutcome): Outcome {
    if (typeof outcome === "string") {
      this.upstream[outcome]();
      this.narrow[outcome]();
      return outcome;
    }
    this.upstream[outcome.upstream]();
    if (outcome.tool === "failure") this.narrow.failure(outcome.toolFailure);
    else this.narrow[outcome.tool]();
    return outcome.tool;
  }
}
