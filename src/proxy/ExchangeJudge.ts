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

/**
 * SPEC §2's rule by status: a failure status (default 5xx) is a failure at once; a 2xx is a success
 * once its body has fully arrived, or at once for an event stream (a standing stream has no end to
 * wait for); any other status is neutral. Stateless: one serves every exchange of an upstream.
 */
export class StatusJudge implements ExchangeJudge {
  readonly #isFailureStatus: (status: number) => boolean;

  constructor(isFailureStatus: (status: number) => boolean) {
    this.#isFailureStatus = isFailureStatus;
  }

  head(status: number, headers: IncomingHttpHeaders): Judgement {
    if (this.#isFailureStatus(status)) return "failure";
    if (status < 200 || status >= 300) return "neutral";
    return isEventStream(headers) ? "success" : "pending";
  }

  data(): Judgement {
    return "pending";
  }

  end(): Outcome {
    return "success";
  }
}

export function isEventStream(headers: IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  return typeof type === "string" && type.startsWith("text/event-stream");
}
