import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { Outcome, Permit } from "../index.ts";
import { clientResponseHeaders } from "./hopByHop.ts";
import type { Upstream } from "./Upstream.ts";

/** How one exchange with an upstream ended, as far as the proxy's next step is concerned. */
export type ExchangeResult =
  /** The upstream's response headers reached the client; its body streams on (or has ended). */
  | "responded"
  /** Nothing was sent: the connection could not be made. Safe to try another upstream. */
  | "connect_failed"
  /** The connection was reset before any response byte (a stale keep-alive socket): try once more. */
  | "reset"
  /** Another error before response headers. */
  | "failed"
  /** undici refused to send the request as the client made it: the client's fault, not the upstream's. */
  | "bad_request"
  /** No response headers within the request timeout; the upstream request was aborted. */
  | "timeout"
  /** The client went away first; the upstream request was aborted. */
  | "client_gone";

/** What the proxy learns from an exchange: its outcome for the breaker and the time to headers. */
export interface ExchangeReport {
  readonly upstream: Upstream;
  readonly outcome: Outcome;
  /** Seconds from dispatch to response headers; undefined when none came. */
  readonly seconds: number | undefined;
  readonly headers: IncomingHttpHeaders | undefined;
}

/** Errors that mean the request never left: nothing was sent, so another upstream may take it. */
const connectFailures = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const resets = new Set(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE"]);

class ExchangeAbort extends Error {}
const timedOut = new ExchangeAbort("breakwater: no response headers within the request timeout");
const clientGone = new ExchangeAbort("breakwater: the client went away");

/**
 * One request to one upstream, as an undici dispatch handler: the response is written to the client
 * as it arrives (backpressure pauses the upstream), and the permit is settled exactly once — at
 * response headers, or by whatever ended the exchange before them.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #upstream: Upstream;
  readonly #permit: Permit;
  readonly #report: (report: ExchangeReport) => void;
  readonly #resolve: (result: ExchangeResult) => void;
  readonly #startedAt = performance.now();
  readonly #mayRetryReset: boolean;
  #controller: Dispatcher.DispatchController | undefined;
  /** An abort asked for before undici handed over its controller. */
  #pendingAbort: Error | undefined;
  #phase: "waiting" | "streaming" | "done" = "waiting";
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    res: ServerResponse;
    upstream: Upstream;
    permit: Permit;
    timeoutMs: number;
    mayRetryReset: boolean;
    report: (report: ExchangeReport) => void;
    resolve: (result: ExchangeResult) => void;
  }) {
    this.#res = options.res;
    this.#upstream = options.upstream;
    this.#permit = options.permit;
    this.#report = options.report;
    this.#resolve = options.resolve;
    this.#mayRetryReset = options.mayRetryReset;
    this.#timer = setTimeout(() => this.#end("timeout", "failure", timedOut), options.timeoutMs);
    this.#upstream.inFlight++;
  }

  /** The client went away: abort the upstream request (neutral if no answer had come yet). */
  clientGone(): void {
    if (this.#phase === "waiting") this.#end("client_gone", "neutral", clientGone);
    else if (this.#phase === "streaming") {
      this.#done();
      this.#abort(clientGone);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (this.#phase !== "waiting") return;
    this.#phase = "streaming";
    clearTimeout(this.#timer);
    const upstream = this.#upstream;
    const outcome: Outcome = upstream.isFailureStatus(status)
      ? "failure"
      : status < 300 && status >= 200
        ? "success"
        : "neutral";
    this.#permit[outcome]();
    const seconds = (performance.now() - this.#startedAt) / 1_000;
    this.#report({ upstream, outcome, seconds, headers });
    const res = this.#res;
    res.writeHead(status, statusMessage || undefined, clientResponseHeaders(headers));
    // An SSE stream may not send its first event for a long time: its headers go out now. Any other
    // response keeps them back to leave with the first body bytes, in one write instead of two.
    if (String(headers["content-type"]).startsWith("text/event-stream")) res.flushHeaders();
    this.#resolve("responded");
    res.on("drain", () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#phase !== "streaming") return;
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#phase !== "streaming") return;
    this.#done();
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#phase === "streaming") {
      // the status line has gone out: all that is left is to cut the client's response short
      this.#done();
      this.#res.destroy(error);
      return;
    }
    if (this.#phase !== "waiting") return;
    const code = errorCode(error);
    if (code === "UND_ERR_INVALID_ARG") this.#end("bad_request", "neutral");
    else if (connectFailures.has(code)) this.#end("connect_failed", "failure");
    else if (resets.has(code) && this.#mayRetryReset) this.#end("reset", undefined);
    else this.#end("failed", "failure");
  }

  /** Ends an exchange that got no response headers. `outcome` undefined: the permit stays open for a retry. */
  #end(result: ExchangeResult, outcome: Outcome | undefined, abort?: Error): void {
    if (this.#phase !== "waiting") return;
    this.#done();
    clearTimeout(this.#timer);
    if (abort !== undefined) this.#abort(abort);
    if (outcome !== undefined) {
      this.#permit[outcome]();
      this.#report({
        upstream: this.#upstream,
        outcome,
        seconds: undefined,
        headers: undefined,
      });
    }
    this.#resolve(result);
  }

  /** The exchange is over, whichever way: it no longer counts as in flight. */
  #done(): void {
    this.#phase = "done";
    this.#upstream.inFlight--;
  }

  #abort(reason: Error): void {
    if (this.#controller === undefined) this.#pendingAbort = reason;
    else if (!this.#controller.aborted) this.#controller.abort(reason);
  }
}

function errorCode(error: Error): string {
  const own = (error as { code?: unknown }).code;
  if (typeof own === "string" && (connectFailures.has(own) || resets.has(own))) return own;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof cause === "string" ? cause : typeof own === "string" ? own : "";
}
