/** What admin shows of the aggregate (SPEC §7.2): its route and, per server, what the merged lists hold. */
export interface AggregateView {
  readonly route: string;
  /** In config order. */
  readonly servers: readonly AggregateServerView[];
}

export interface AggregateServerView {
  readonly name: string;
  /** "current" (its fresh lists), "cached" (its last good lists, during grace) or "omitted". */
  readonly listed: "current" | "cached" | "omitted";
  readonly tools: number;
  readonly prompts: number;
  readonly resources: number;
  readonly resourceTemplates: number;
  /** Names left out of the merged lists (invalid, too long, repeated), with why. */
  readonly leftOut: readonly { readonly name: string; readonly reason: string }[];
  /** While cached: how long its tools stay listed. */
  readonly graceLeftMs?: number | undefined;
}
