import type { Outcome, Permit } from "../breaker/Acquisition.ts";
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

  failure(): void {
    this.settle("failure");
  }

  neutral(): void {
    this.settle("neutral");
  }

  /** Settles both permits; returns the narrower circuit's outcome. */
  settle(outcome: ExchangeOutcome): Outcome {
    const [upstream, narrow] =
      typeof outcome === "string" ? [outcome, outcome] : [outcome.upstream, outcome.tool];
    this.upstream[upstream]();
    this.narrow[narrow]();
    return narrow;
  }
}
