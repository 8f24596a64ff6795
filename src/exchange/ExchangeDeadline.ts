import type { Timer, Timers } from "../time/Timers.ts";

/** How long a JSON-RPC call's answer may take (SPEC §3.1); 0 turns a limit off. */
export interface AnswerLimits {
  /** After the head, the longest wait for the answer; each progress notification restarts it. */
  readonly answerTimeoutMs: number;
  /** The whole call at most, from when it was first sent, whatever its progress. */
  readonly maxAnswerMs: number;
}

/** Which wait ran out: for the response head (the request's deadline), or for a call's answer. */
export type Expiry = "head" | "answer";

/**
 * The one deadline of an exchange, on the time seam: first the request's (`request_timeout_ms`, what is
 * left of it for this attempt), then — once the head of a JSON-RPC call has come — its answer's
 * (`answer_timeout_ms` from the head or the latest progress, within `max_answer_ms` of the first send).
 * One timer at a time: while the request's deadline would fire no later than the answer's it runs on
 * and is set again when it fires, so progress costs no timer of its own. A wait longer than node's
 * timers hold is clamped by them; it is set again for the rest when it fires early.
 */
export class ExchangeDeadline {
  readonly #timers: Timers;
  readonly #limits: AnswerLimits;
  /** When the client's request was first sent on (a `timers.now()` reading), for `max_answer_ms`. */
  readonly #startedAt: number;
  readonly #expired: (expiry: Expiry) => void;
  #timer: Timer | undefined;
  /** When the running timer is due (node may fire it sooner: clamped). */
  #due = 0;
  /** When the wait for the answer last (re)started; undefined while the head is awaited. */
  #answerFrom: number | undefined;
  readonly #fired = () => this.#onFire();

  /** `expired`: told once, when a wait has run out (not after `stop`). */
  constructor(timers: Timers, limits: AnswerLimits, startedAt: number, expired: (expiry: Expiry) => void) {
    this.#timers = timers;
    this.#limits = limits;
    this.#startedAt = startedAt;
    this.#expired = expired;
  }

  /** The response head is due within `ms`. */
  awaitHead(ms: number): void {
    this.#set(ms);
  }

  /** The head of a JSON-RPC call has come: its answer is awaited from now. */
  awaitAnswer(): void {
    const now = this.#timers.now();
    this.#answerFrom = now;
    const due = this.#answerDue(now);
    if (due === Infinity) this.stop();
    else if (this.#timer === undefined || due < this.#due) this.#set(due - now);
  }

  /** A progress notification of the call: the wait for its answer starts again (within `max_answer_ms`). */
  progressed(): void {
    if (this.#answerFrom !== undefined) this.#answerFrom = this.#timers.now(); // the timer sets itself for the rest
  }

  /** Nothing more is awaited. */
  stop(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #set(ms: number): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#due = this.#timers.now() + ms;
    this.#timer = this.#timers.setTimeout(this.#fired, ms);
  }

  #onFire(): void {
    this.#timer = undefined;
    const now = this.#timers.now();
    const due = this.#answerFrom === undefined ? this.#due : this.#answerDue(now);
    if (now < due) this.#set(due - now);
    else this.#expired(this.#answerFrom === undefined ? "head" : "answer");
  }

  /** `answer_timeout_ms` after the wait (re)started, within `max_answer_ms` of the first send. */
  #answerDue(now: number): number {
    const { answerTimeoutMs, maxAnswerMs } = this.#limits;
    const wait = answerTimeoutMs > 0 ? (this.#answerFrom ?? now) + answerTimeoutMs : Infinity;
    return maxAnswerMs > 0 ? Math.min(wait, this.#startedAt + maxAnswerMs) : wait;
  }
}
