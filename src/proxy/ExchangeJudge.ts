import type { IncomingHttpHeaders } from "node:http";
import type { Outcome } from "../index.ts";

/** A judge's answer: an outcome, or "pending" until it has seen more of the response. */
export type Judgement = Outcome | "pending";

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
  end(): Outcome;
}
