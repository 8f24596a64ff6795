import type { IncomingHttpHeaders } from "node:http";
import type { Outcome } from "../breaker/Acquisition.ts";
import { isEventStream } from "../http/eventStream.ts";
import type { ExchangeJudge, Judgement } from "./ExchangeJudge.ts";

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
