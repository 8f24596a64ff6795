import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { endsEvent, isEventStream } from "../http/eventStream.ts";
import { clientResponseHeaders } from "../http/hopByHop.ts";
import type { ExchangeJudge, ExchangeOutcome, Judgement } from "../judges/ExchangeJudge.ts";
import {
  answerTimeoutCause,
  badResponseCause,
  chargesFailure,
  type FailureCause,
  statusCause,
  streamCutCause,
  timeoutCause,
} from "../judges/failureCause.ts";
import type {
  ResponseSink,
  TransportControls,
  TransportFailure,
  UpstreamRequest,
} from "../upstreams/Upstream.ts";
import type { AttemptTrace } from "./AttemptTrace.ts";
import { answerTimeoutEvents } from "./answerTimeoutEvents.ts";
import type { BodyFilter } from "./BodyFilter.ts";
import { type AnswerLimits, ExchangeDeadline } from "./ExchangeDeadline.ts";
import type { ResponseRewrite } from "./ResponseRewrite.ts";
import type { Settlement } from "./Settlement.ts";

/** How one exchange ended, as far as the proxy's next step is concerned. */
export type ExchangeResult =
  /** The upstream's response reached the client; its body streams on (or has ended). Settled or judged. */
  | { readonly kind: "responded" }
  /** No response came back: the permit is not settled yet, for the retry rule to decide. */
  | { readonly kind: "failed"; readonly failure: TransportFailure }
  /** The upstream's response cannot be passed on, and nothing of it reached the client. A failure. */
  | { readonly kind: "bad_response" }
  /** No response head within the request's deadline; the upstream request was aborted. A failure. */
  | { readonly kind: "timeout" }
  /** The client went away first; the upstream request was aborted. Neutral. */
  | { readonly kind: "client_gone" }
  /**
   * The upstream answered 404 to a request in a session the proxy holds for its client (the call's
   * `sessionLost`): nothing of it reached the client, the upstream request was aborted. Neutral.
   */
  | { readonly kind: "session_lost" };

const responded: ExchangeResult = { kind: "responded" };
const badResponse: ExchangeResult = { kind: "bad_response" };
const timedOut: ExchangeResult = { kind: "timeout" };
const clientGone: ExchangeResult = { kind: "client_gone" };
const sessionLost: ExchangeResult = { kind: "session_lost" };

/** The most of a response body held back to be rewritten; a larger one streams on unchanged. */
const maxHeldDocument = 64 * 1024;

class ExchangeAbort extends Error {}
const deadlinePassed = new ExchangeAbort("breakwater: no response headers within the request timeout");
const clientLeft = new ExchangeAbort("breakwater: the client went away");
const unusable = new ExchangeAbort("breakwater: the upstream's response cannot be passed on");
const answerLate = new ExchangeAbort("breakwater: no JSON-RPC answer in time");
const sessionGone = new ExchangeAbort("breakwater: the upstream no longer knows the session");

export interface ExchangeOptions {
  readonly res: ServerResponse;
  readonly request: UpstreamRequest;
  /** What the client gets of the upstream's head and (small) body instead: public URLs, sealed sessions. */
  readonly rewrite: ResponseRewrite;
  readonly settlement: Settlement;
  readonly judge: ExchangeJudge;
  /** What the client gets of the answer instead of its bytes (after the judge has seen them). */
  readonly bodyFilter?: BodyFilter | undefined;
  /** Whole milliseconds left for the response head to come (what is left of the request's budget). */
  readonly timeLeftMs: number;
  readonly answerLimits: AnswerLimits;
  /**
   * The request is in a session the proxy holds for its client: a 404 is not passed on but resolves
   * `session_lost`, for the proxy to open a new one (SPEC §7.2).
   */
  readonly sessionHeld?: boolean | undefined;
  /** Whether the proxy is shutting down: responses then close their connection. */
  readonly draining: () => boolean;
  /** The attempt's client span (SPEC §9), told its outcome; undefined while telemetry is off. */
  readonly trace?: AttemptTrace | undefined;
  readonly resolve: (result: ExchangeResult) => void;
}

/**
 * One attempt of a request at one upstream, as the sink of its transport: the response is written to
 * the client as it arrives (backpressure pauses the upstream), the judge is fed until it answers, and
 * the settlement settles the permit once. The head is held back until the first body byte (or the
 * end), so that a response that breaks before it reaches the client can still be answered with a 502;
 * an event stream's head goes out at once, since its first event may take long. A JSON-RPC call's
 * answer has a deadline too (its judge says which ids are unanswered): a client holding its event
 * stream then gets a JSON-RPC error for each, never a silent hang. A body filter, when the call has
 * one, changes what the client gets of the body after the judge has read it.
 */
export class UpstreamExchange implements ResponseSink {
  readonly #o: ExchangeOptions;
  #controls: TransportControls | undefined;
  #phase: "waiting" | "held" | "streaming" | "done" = "waiting";
  #pending = true;
  #eventStream = false;
  #status = 0;
  #statusMessage = "";
  #headers: IncomingHttpHeaders = {};
  /** The body held back to be rewritten (a protected-resource metadata document); undefined otherwise. */
  #collected: Buffer[] | undefined;
  #collectedBytes = 0;
  /** The last body chunk passed on ended an event (for where the proxy's own event may start). */
  #atEventBoundary = true;
  readonly #deadline: ExchangeDeadline;

  constructor(options: ExchangeOptions) {
    this.#o = options;
    const { settlement } = options;
    this.#deadline = new ExchangeDeadline(
      settlement.timers,
      options.answerLimits,
      settlement.startedAt,
      (expiry) => (expiry === "head" ? this.#timeout() : this.#answerTimeout()),
    );
  }

  start(controls: TransportControls): void {
    this.#controls = controls;
    this.#deadline.awaitHead(this.#o.timeLeftMs);
  }

  head(status: number, headers: IncomingHttpHeaders, statusMessage: string): void {
    if (this.#phase !== "waiting") return;
    const { settlement, judge } = this.#o;
    // (a reason phrase node will not write is found when the head is written: see #commit)
    if (status < 200 || status > 599) {
      this.#unusable(`invalid status: ${status}`);
      return;
    }
    settlement.headArrived(status, headers);
    if (status === 404 && this.#o.sessionHeld === true) {
      // the session is gone, not the upstream: it did not act on the request (neutral), and the
      // client sees none of this answer
      this.#phase = "done";
      this.#o.bodyFilter?.close?.();
      this.#controls?.abort(sessionGone);
      this.#settle("neutral");
      this.#o.resolve(sessionLost);
      return;
    }
    this.#judged(judge.head(status, headers));
    if (this.#pending && judge.unanswered !== undefined) this.#deadline.awaitAnswer();
    else this.#deadline.stop();
    this.#phase = "held";
    this.#status = status;
    this.#statusMessage = statusMessage;
    const { rewrite, request } = this.#o;
    this.#headers = rewrite.headers(headers, settlement.upstream, request);
    const filter = this.#o.bodyFilter;
    if (filter !== undefined) this.#headers = filter.head(status, this.#headers);
    if (rewrite.rewritesBody(request, status, headers)) this.#collected = [];
    this.#eventStream = isEventStream(headers);
    if (this.#eventStream) this.#commit();
  }

  data(chunk: Buffer): void {
    if (this.#collected !== undefined && this.#phase === "held") {
      this.#collected.push(chunk);
      this.#collectedBytes += chunk.length;
      if (this.#collectedBytes <= maxHeldDocument) return;
      // too large for a metadata document (a chunked body has no length to tell): passed on as it is
      const held = this.#collected;
      this.#collected = undefined;
      if (!this.#commit()) return;
      for (const piece of held) this.#o.res.write(piece);
      return;
    }
    if (this.#phase === "held" && !this.#commit()) return;
    if (this.#phase !== "streaming") return;
    if (this.#pending) this.#judged(this.#o.judge.data(chunk));
    // the judge has read what the upstream sent; the client gets what the filter makes of it
    const filter = this.#o.bodyFilter;
    const out = filter === undefined ? chunk : filter.data(chunk);
    if (out === undefined) return;
    if (this.#eventStream) this.#atEventBoundary = endsEvent(out);
    if (!this.#o.res.write(out)) this.#controls?.pause();
  }

  end(): void {
    if (this.#collected !== undefined && this.#phase === "held") this.#rewriteBody(this.#collected);
    if (this.#phase === "held" && !this.#commit()) return;
    if (this.#phase !== "streaming") return;
    this.#phase = "done";
    if (this.#pending) this.#judged(this.#o.judge.end());
    const rest = this.#o.bodyFilter?.end();
    if (rest === undefined) this.#o.res.end();
    else this.#o.res.end(rest);
  }

  error(failure: TransportFailure): void {
    const phase = this.#phase;
    if (phase === "done") return;
    this.#phase = "done";
    this.#o.bodyFilter?.close?.();
    if (phase === "waiting") {
      this.#deadline.stop();
      this.#o.resolve({ kind: "failed", failure });
      return;
    }
    // the response broke off after its head: a failure unless already judged (SPEC §2)
    this.#settle("failure", `response cut short: ${failure.error.message}`, streamCutCause);
    if (phase === "held") this.#o.resolve(badResponse);
    else this.#o.res.destroy(failure.error); // the client's response is cut short too
  }

  /** The client went away: abort the upstream request; neutral unless already judged. */
  clientGone(): void {
    const phase = this.#phase;
    if (phase === "done") return;
    this.#phase = "done";
    this.#o.bodyFilter?.close?.();
    this.#controls?.abort(clientLeft);
    this.#settle("neutral");
    if (phase !== "streaming") this.#o.resolve(clientGone);
  }

  #timeout(): void {
    if (this.#phase !== "waiting") return;
    this.#phase = "done";
    this.#controls?.abort(deadlinePassed);
    this.#settle("failure", undefined, timeoutCause);
    this.#o.resolve(timedOut);
  }

  /**
   * The answer did not come in time: a failure, and the upstream request is aborted. A client with
   * nothing yet gets a 504; one holding an event stream gets an error event per unanswered id, then
   * the end; a JSON body half sent can only be cut.
   */
  #answerTimeout(): void {
    const phase = this.#phase;
    if (phase === "done" || phase === "waiting" || !this.#pending) return;
    this.#phase = "done";
    this.#pending = false;
    this.#o.bodyFilter?.close?.();
    this.#controls?.abort(answerLate);
    const { settlement, judge, res } = this.#o;
    this.#settle("failure", "no JSON-RPC answer within the answer timeout", answerTimeoutCause);
    if (phase === "held") {
      this.#o.resolve(timedOut);
      return;
    }
    if (!this.#eventStream) {
      res.destroy();
      return;
    }
    const ids = judge.unanswered?.() ?? [];
    res.end(answerTimeoutEvents(ids, settlement.upstream.name, this.#atEventBoundary));
  }

  #judged(judgement: Judgement): void {
    if (judgement === "pending") return;
    if (judgement === "progressed") {
      this.#deadline.progressed();
      return;
    }
    this.#pending = false;
    if (!chargesFailure(judgement)) {
      this.#settle(judgement);
      return;
    }
    const { judge, settlement } = this.#o;
    this.#settle(judgement, undefined, judge.failureCause?.() ?? statusCause(settlement.status));
  }

  /** Settles the permit(s): nothing more is awaited. `cause`: why, for a failure. */
  #settle(outcome: ExchangeOutcome, problem?: string, cause?: FailureCause): void {
    this.#deadline.stop();
    this.#o.settlement.settle(outcome, problem, cause);
    this.#o.trace?.settled(outcome, cause, this.#o.judge.answerError?.());
  }

  /** Makes the held document's URLs public; it then leaves with its new length, in one write. */
  #rewriteBody(chunks: Buffer[]): void {
    this.#collected = undefined;
    const body = this.#o.rewrite.body(Buffer.concat(chunks), this.#o.settlement.upstream, this.#o.request);
    this.#headers = { ...this.#headers, "content-length": String(body.length) };
    if (this.#commit() && this.#phase === "streaming") this.#o.res.write(body);
  }

  /** Writes the held head to the client; false (and a 502 to come) when it cannot be written. */
  #commit(): boolean {
    const res = this.#o.res;
    try {
      if (this.#o.draining()) res.shouldKeepAlive = false;
      res.writeHead(this.#status, this.#statusMessage || undefined, clientResponseHeaders(this.#headers));
    } catch (error) {
      res.statusMessage = ""; // writeHead keeps a bad reason phrase even when it throws
      this.#unusable(`response head cannot be passed on: ${(error as Error).message}`);
      return false;
    }
    if (this.#eventStream) res.flushHeaders();
    this.#phase = "streaming";
    const controls = this.#controls;
    if (controls !== undefined) res.on("drain", () => controls.resume());
    this.#o.resolve(responded);
    return true;
  }

  #unusable(problem: string): void {
    this.#phase = "done";
    this.#o.bodyFilter?.close?.();
    this.#controls?.abort(unusable);
    this.#settle("failure", problem, badResponseCause);
    this.#o.resolve(badResponse);
  }
}
