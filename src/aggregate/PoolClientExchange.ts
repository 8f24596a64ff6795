import type { IncomingHttpHeaders } from "node:http";
import type { Settlement } from "../exchange/Settlement.ts";
import { EventStreamReader } from "../http/EventStreamReader.ts";
import { isEventStream } from "../http/eventStream.ts";
import type { ExchangeJudge, ExchangeOutcome, Judgement } from "../judges/ExchangeJudge.ts";
import {
  badResponseCause,
  chargesFailure,
  statusCause,
  streamCutCause,
  timeoutCause,
} from "../judges/failureCause.ts";
import type { Timer } from "../time/Timers.ts";
import type { ResponseSink, TransportControls, TransportFailure } from "../upstreams/Upstream.ts";

/** How one attempt of Breakwater's own request ended. */
export type PoolExchangeEnd =
  | {
      readonly kind: "answer";
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly message: Record<string, unknown>;
    }
  /**
   * No answer: `failure` set when no response head came (not settled yet: the retry rule decides);
   * otherwise settled, `charged` when as a failure of the upstream's.
   */
  | {
      readonly kind: "failed";
      readonly status: number | undefined;
      readonly reason: string;
      readonly failure?: TransportFailure | undefined;
      readonly charged?: boolean;
    };

export interface PoolExchangeOptions {
  readonly settlement: Settlement;
  readonly judge: ExchangeJudge;
  /** Milliseconds the answer may take from now (the settlement's timers); then the attempt is aborted. */
  readonly timeLeftMs: number;
  /** Aborts the attempt (neutral): the caller no longer wants the answer. */
  readonly signal: AbortSignal | undefined;
  /**
   * The id of the request whose response is awaited; undefined: none is (a notification, a GET stream):
   * every message goes to `onMessage`, and the answer is the end of the body.
   */
  readonly id: string | number | undefined;
  /** The most bytes of a JSON body, or of one event of a stream, that are read. */
  readonly maxMessageBytes: number;
  readonly onMessage: ((message: Record<string, unknown>) => void) | undefined;
  readonly resolve: (end: PoolExchangeEnd) => void;
}

class PoolExchangeAbort extends Error {}
const answered = new PoolExchangeAbort(
  "breakwater: the response has come; the rest of the stream is not read",
);
const tooLarge = new PoolExchangeAbort("breakwater: the answer is larger than Breakwater reads");
const unusable = new PoolExchangeAbort("breakwater: the upstream's response is unusable");

/**
 * One attempt of one of Breakwater's own requests at one upstream, as the sink of its transport: its
 * judge is fed until it has a verdict (the settlement settles the permit with it, as a client's exchange
 * does), a JSON body is read whole (up to `maxMessageBytes`), an event stream event by event (each
 * message that is not the response to `onMessage`, as it comes). The attempt resolves with the response,
 * or why there is none; a stream still open after its response is aborted (nothing more is read of it).
 */
export class PoolClientExchange implements ResponseSink {
  readonly #o: PoolExchangeOptions;
  #controls: TransportControls | undefined;
  #phase: "waiting" | "body" | "done" = "waiting";
  #judging = true;
  #resolved = false;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #events: EventStreamReader | undefined;
  /** The JSON body, or the current event's data, read so far. */
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The permit was settled as the upstream's failure (by the judge, a cut, a timeout). */
  #charged = false;
  #deadline: Timer | undefined;
  readonly #onAbort = () => this.abort("aborted by Breakwater", "neutral");

  constructor(options: PoolExchangeOptions) {
    this.#o = options;
  }

  start(controls: TransportControls): void {
    this.#controls = controls;
    const { settlement, timeLeftMs, signal } = this.#o;
    this.#deadline = settlement.timers.setTimeout(
      () => this.abort(`no answer within ${timeLeftMs} ms`, "failure", timeoutCause),
      timeLeftMs,
    );
    if (signal?.aborted === true) this.#onAbort();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  head(status: number, headers: IncomingHttpHeaders): void {
    if (this.#phase !== "waiting") return;
    this.#phase = "body";
    this.#status = status;
    this.#headers = headers;
    const { settlement, judge } = this.#o;
    if (status < 200 || status > 599) {
      this.#settle("failure", `invalid status: ${status}`, badResponseCause);
      this.#stop(unusable);
      this.#finish({ kind: "failed", status: undefined, reason: `invalid status ${status}` });
      return;
    }
    settlement.headArrived(status, headers);
    this.#judged(judge.head(status, headers));
    if (status >= 300) {
      // read on for the judge only (a 4xx may be a client error, a 5xx the upstream's failure)
      this.#finish({ kind: "failed", status, reason: `answered HTTP ${status}` });
      return;
    }
    if (isEventStream(headers))
      this.#events = new EventStreamReader({
        data: (bytes) => this.#keep(bytes),
        event: () => this.#message(this.#take()),
        discard: () => this.#take(),
      });
  }

  data(chunk: Buffer): void {
    if (this.#phase !== "body") return;
    if (this.#judging) this.#judged(this.#o.judge.data(chunk));
    if (this.#status >= 300) {
      // an error status's body is read for the judge only, until its verdict
      if (!this.#judging) this.#stop(answered);
      return;
    }
    if (this.#events === undefined) this.#keep(chunk);
    else this.#events.feed(chunk);
    // the response has come: the rest of its stream is nobody's (a listen's ends with its response)
    if (this.#resolved && this.#phase === "body") this.#stop(answered);
  }

  end(): void {
    if (this.#phase !== "body") return;
    this.#done();
    if (this.#judging) this.#judged(this.#o.judge.end());
    if (this.#resolved) return;
    if (this.#events !== undefined) {
      this.#events.end();
      if (this.#o.id === undefined) this.#answer({});
      else
        this.#finish({ kind: "failed", status: this.#status, reason: "the stream ended without a response" });
      return;
    }
    const message = this.#bytes === 0 ? undefined : this.#parse(this.#take());
    if (this.#o.id === undefined) {
      this.#answer(message ?? {}); // a notification's 202 (what a body says of it is no response)
      return;
    }
    if (message !== undefined && this.#isResponse(message)) this.#answer(message);
    else this.#finish({ kind: "failed", status: this.#status, reason: "the body is no JSON-RPC response" });
  }

  error(failure: TransportFailure): void {
    const phase = this.#phase;
    if (phase === "done") return;
    this.#done();
    if (phase === "waiting") {
      this.#finish({ kind: "failed", status: undefined, reason: failure.error.message, failure });
      return;
    }
    this.#settle("failure", `response cut short: ${failure.error.message}`, streamCutCause);
    this.#finish({
      kind: "failed",
      status: this.#status,
      reason: `response cut short: ${failure.error.message}`,
    });
  }

  /**
   * Ends the attempt before its answer: `outcome` for the permit (unless the judge gave one), `reason`
   * for the caller. A no-op once it has ended.
   */
  abort(reason: string, outcome: "failure" | "neutral", cause?: string): void {
    if (this.#phase === "done") return;
    this.#done();
    this.#controls?.abort(new PoolExchangeAbort(`breakwater: ${reason}`));
    // once answered, what is left unread is no failure of the upstream's
    if (this.#resolved) this.#settle("neutral");
    else this.#settle(outcome, undefined, cause);
    this.#finish({ kind: "failed", status: this.#status || undefined, reason });
  }

  /** An event's data, or a JSON body's bytes: kept up to the limit; past it, the attempt fails. */
  #keep(bytes: Buffer): void {
    this.#bytes += bytes.length;
    if (this.#bytes <= this.#o.maxMessageBytes) {
      this.#chunks.push(bytes);
      return;
    }
    this.#chunks = [];
    this.#stop(tooLarge);
    // Breakwater's own limit, not the upstream's failure: neutral unless judged
    this.#settle("neutral");
    this.#finish({ kind: "failed", status: this.#status, reason: "answer larger than Breakwater reads" });
  }

  #take(): Buffer {
    const whole = Buffer.concat(this.#chunks, Math.min(this.#bytes, this.#o.maxMessageBytes));
    this.#chunks = [];
    this.#bytes = 0;
    return whole;
  }

  /** One event's message: the response resolves the attempt; every other one goes to `onMessage`. */
  #message(data: Buffer): void {
    if (this.#resolved) return;
    const message = this.#parse(data);
    if (message === undefined) return;
    if (this.#isResponse(message)) this.#answer(message);
    else this.#o.onMessage?.(message);
  }

  #isResponse(message: Record<string, unknown>): boolean {
    return (
      message["id"] === this.#o.id && !("method" in message) && ("result" in message || "error" in message)
    );
  }

  #parse(data: Buffer): Record<string, unknown> | undefined {
    try {
      const value: unknown = JSON.parse(data.toString("utf8"));
      return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  #answer(message: Record<string, unknown>): void {
    this.#finish({ kind: "answer", status: this.#status, headers: this.#headers, message });
  }

  #finish(end: PoolExchangeEnd): void {
    if (this.#resolved) return;
    this.#resolved = true;
    this.#o.resolve(end.kind === "failed" && this.#charged ? { ...end, charged: true } : end);
  }

  /** Stops reading: the transport hears no more of it; the judge's verdict, if any, stands. */
  #stop(reason: Error): void {
    if (this.#phase === "done") return;
    this.#done();
    this.#controls?.abort(reason);
    this.#settle("neutral");
  }

  /** Nothing more comes: the deadline and the signal no longer apply. */
  #done(): void {
    this.#phase = "done";
    this.#o.settlement.timers.clearTimeout(this.#deadline);
    this.#o.signal?.removeEventListener("abort", this.#onAbort);
  }

  #judged(judgement: Judgement): void {
    if (judgement === "pending" || judgement === "progressed") return;
    this.#judging = false;
    const cause = chargesFailure(judgement)
      ? (this.#o.judge.failureCause?.() ?? statusCause(this.#status))
      : undefined;
    this.#settle(judgement, undefined, cause);
  }

  /** Settles the permit (once: the settlement ignores later calls). */
  #settle(outcome: ExchangeOutcome, problem?: string, cause?: string): void {
    this.#judging = false;
    if (!this.#o.settlement.settled && chargesFailure(outcome)) this.#charged = true;
    this.#o.settlement.settle(outcome, problem, cause);
  }
}
