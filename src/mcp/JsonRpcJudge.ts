import type { IncomingHttpHeaders } from "node:http";
import { TextDecoder } from "node:util";
import { createParser, type EventSourceParser } from "eventsource-parser";
import type { Outcome } from "../index.ts";
import type { ExchangeJudge, Judgement } from "../proxy/ExchangeJudge.ts";
import { isEventStream } from "../proxy/eventStream.ts";
import { AnswerScanner, type ScannedAnswer } from "./AnswerScanner.ts";

/** What decides a JSON-RPC call's outcome besides its answer: the statuses and error codes that fail. */
export interface JsonRpcRules {
  readonly isFailureStatus: (status: number) => boolean;
  readonly isFailureCode: (code: number) => boolean;
}

/**
 * Judges a JSON-RPC call by its answer, read as it streams through (SPEC §3.1): a JSON body when it
 * ends, or the events of an event stream until the one answering each of the call's ids. A `result`
 * is a success; an `error` is a failure when its code is listed (`proxy.jsonrpc_failure_codes`), neutral
 * otherwise (the client's own fault); a batch with any failing answer is a failure. An event stream that
 * ends before every answer came is a failure (`stream_cut`), and so is any body cut short. A 2xx JSON body
 * that is no JSON-RPC response is judged as §2 (a success once complete); so is any other body.
 */
export class JsonRpcJudge implements ExchangeJudge {
  readonly #rules: JsonRpcRules;
  /** The ids of the call, as JSON text, not answered yet (on an event stream). */
  readonly #waiting: Set<string>;
  #scanner: AnswerScanner | undefined;
  #events: EventSourceParser | undefined;
  #decoder: TextDecoder | undefined;
  #failed = false;
  /** Some answer was a result. */
  #succeeded = false;
  #verdict: Outcome | undefined;

  /** `ids`: the call's request ids, as JSON text (`1`, `"a"`). */
  constructor(ids: readonly string[], rules: JsonRpcRules) {
    this.#rules = rules;
    this.#waiting = new Set(ids);
  }

  head(status: number, headers: IncomingHttpHeaders): Judgement {
    if (this.#rules.isFailureStatus(status)) return "failure";
    if (status < 200 || status >= 300) return "neutral";
    if (isEventStream(headers)) {
      this.#decoder = new TextDecoder();
      this.#events = createParser({ onEvent: (event) => this.#event(event.data) });
    } else if (String(headers["content-type"]).includes("json")) this.#scanner = new AnswerScanner();
    return "pending";
  }

  data(chunk: Buffer): Judgement {
    if (this.#events !== undefined) {
      this.#events.feed((this.#decoder as TextDecoder).decode(chunk, { stream: true }));
      return this.#verdict ?? "pending";
    }
    this.#scanner?.feed(chunk);
    return "pending";
  }

  end(): Outcome {
    if (this.#events !== undefined) return this.#verdict ?? "failure"; // the stream ended before the answer
    const scanner = this.#scanner;
    if (scanner === undefined || scanner.lost || scanner.answers.length === 0) return "success";
    for (const answer of scanner.answers) this.#count(answer);
    return this.#outcome();
  }

  #event(data: string): void {
    if (this.#verdict !== undefined || data === "") return;
    const scanner = new AnswerScanner();
    scanner.feed(Buffer.from(data, "utf8"));
    for (const answer of scanner.answers) {
      if (answer.id === undefined || !this.#waiting.delete(answer.id)) continue; // a notification, or not ours
      this.#count(answer);
    }
    if (this.#waiting.size === 0) this.#verdict = this.#outcome();
  }

  #count(answer: ScannedAnswer): void {
    if (answer.errorCode === undefined) this.#succeeded = true;
    else if (this.#rules.isFailureCode(answer.errorCode)) this.#failed = true;
  }

  /** Any failing answer fails the call; else a result makes it a success; errors alone (the client's fault) are neutral. */
  #outcome(): Outcome {
    return this.#failed ? "failure" : this.#succeeded ? "success" : "neutral";
  }
}
