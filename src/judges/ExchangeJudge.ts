import type { IncomingHttpHeaders } from "node:http";
import type { Outcome } from "../breaker/Acquisition.ts";
import type { FailureOptions } from "../breaker/FailureOptions.ts";

/**
 * An answer that clears the server while it blames one of its tools (SPEC §3.2): a tool call's own
 * circuit hears `tool`, the upstream's hears `upstream` — or `whole` when the call had no tool circuit
 * (tool circuits off, or past `max_tools`), as SPEC §3.1 judges it.
 */
export interface SplitOutcome {
  readonly upstream: Outcome;
  readonly tool: Outcome;
  readonly whole: Outcome;
  /** How the tool's failure counts: `{ consecutive: false }`, at the rate only, for an `isError` result. */
  readonly toolFailure?: FailureOptions;
}

/** An exchange's outcome: one for every circuit that admitted it, or one for each. */
export type ExchangeOutcome = Outcome | SplitOutcome;

/**
 * A judge's answer: an outcome, or "pending" until it has seen more of the response — "progressed"
 * when what it saw was the call's progress (which restarts the wait for the answer).
 */
export type Judgement = ExchangeOutcome | "pending" | "progressed";

/**
 * Decides the outcome of one exchange for the breaker from what the upstream sends, fed as it streams
 * through: the head, each body chunk, the end. Once it has answered an outcome it is asked nothing
 * more. A response that breaks off while the judge is still pending is a failure (SPEC §2), whoever
 * the judge. Judges know nothing of sockets, so they are tested on their own.
 */
export interface ExchangeJudge {
  head(status: number, headers: IncomingHttpHeaders): Judgement;
  data(chunk: Buffer): Judgement;
  /** The body has fully arrived. */
  end(): ExchangeOutcome;
  /**
   * A JSON-RPC call's judge only (its answer has a deadline, SPEC §3.1): the request ids, as JSON
   * text, that have not been answered yet.
   */
  unanswered?(): readonly string[];
  /**
   * Why it answered a failure (a `FailureCause`), when its own reading says more than the status (a
   * JSON-RPC error code, an event stream cut before the answer); undefined: the response's status is
   * the cause. Asked only after a failure.
   */
  failureCause?(): string | undefined;
  /**
   * A JSON-RPC call's judge only: what its answer said went wrong, whatever the outcome — the first
   * error's code as text (`-32602`), or `tool_error` for a tool result with `isError: true`; undefined
   * when it said nothing wrong (or has not been read). For traces (SPEC §9 `error.type`).
   */
  answerError?(): string | undefined;
}
