import type { IncomingHttpHeaders } from "node:http";
import { TextDecoder } from "node:util";
import { createParser, type EventSourceParser } from "eventsource-parser";
import type { ExchangeJudge, ExchangeOutcome, Judgement, SplitOutcome } from "../proxy/ExchangeJudge.ts";
import { isEventStream } from "../proxy/eventStream.ts";
import { AnswerScanner, type ScannedAnswer } from "./AnswerScanner.ts";
import type { JsonRpcCall } from "./jsonRpcCall.ts";

/** What decides a JSON-RPC call's outcome besides its answer: the statuses and error codes that fail. */
export interface JsonRpcRules {
  readonly isFailureStatus: (status: number) => boolean;
  readonly isFailureCode: (code: number) => boolean;
}

/** A tool call answered with a failing error code: the tool is blamed, the server heard nothing. */
const toolFailed: SplitOutcome = { upstream: "neutral", tool: "failure", whole: "failure" };
/** A tool result with `isError: true`: the server did its job, the tool did not. */
const toolErred: SplitOutcome = { upstream: "success", tool: "failure", whole: "success" };

/** Progress notifications are small and rare: such an event is parsed whole, to read its token. */
const progressMethod = "notifications/progress";

/**
 * Judges a JSON-RPC call by its answer, read as it streams through (SPEC §3.1): a JSON body when it
 * ends, or the events of an event stream until the one answering each of the call's ids. A `result`
 * is a success; an `error` is a failure when its code is listed (`proxy.jsonrpc_failure_codes`), neutral
 * otherwise (the client's own fault); a batch with any failing answer is a failure. For a tool call
 * (§3.2) a failing code or an `isError` result blames the tool alone. An event stream that ends before
 * every answer came is a failure (`stream_cut`), and so is any body cut short. A 2xx JSON body that is
 * no JSON-RPC response is judged as §2 (a success once complete); so is any other body. Progress
 * notifications for the call's tokens are reported, for its answer timeout.
 */
export class JsonRpcJudge implements ExchangeJudge {
  readonly #rules: JsonRpcRules;
  readonly #call: JsonRpcCall;
  /** The ids of the call, as JSON text, not answered yet: made for an event stream only. */
  #waiting: Set<string> | undefined;
  #scanner: AnswerScanner | undefined;
  #events: EventSourceParser | undefined;
  #decoder: TextDecoder | undefined;
  #failed = false;
  #toolFailed = false;
  #toolErred = false;
  /** Some answer was a result. */
  #succeeded = false;
  #progressed = false;
  #verdict: ExchangeOutcome | undefined;

  constructor(call: JsonRpcCall, rules: JsonRpcRules) {
    this.#rules = rules;
    this.#call = call;
  }

  head(status: number, headers: IncomingHttpHeaders): Judgement {
    if (this.#rules.isFailureStatus(status)) return "failure";
    if (status < 200 || status >= 300) return "neutral";
    if (isEventStream(headers)) {
      this.#waiting = new Set(this.#call.ids);
      this.#decoder = new TextDecoder();
      this.#events = createParser({ onEvent: (event) => this.#event(event.data) });
    } else if (String(headers["content-type"]).includes("json")) {
      // a JSON body is the answer whatever its id; a tool's result is read on for its isError
      this.#scanner = new AnswerScanner({ isError: this.#call.tool !== undefined, id: false });
    }
    return "pending";
  }

  data(chunk: Buffer): Judgement {
    if (this.#events !== undefined) {
      this.#events.feed((this.#decoder as TextDecoder).decode(chunk, { stream: true }));
      if (this.#verdict !== undefined) return this.#verdict;
      if (!this.#progressed) return "pending";
      this.#progressed = false;
      return "progressed";
    }
    this.#scanner?.feed(chunk);
    return "pending";
  }

  end(): ExchangeOutcome {
    if (this.#events !== undefined) return this.#verdict ?? "failure"; // the stream ended before the answer
    const scanner = this.#scanner;
    if (scanner === undefined || scanner.lost || scanner.answers.length === 0) return "success";
    for (const answer of scanner.answers) this.#count(answer);
    return this.#outcome();
  }

  unanswered(): readonly string[] {
    return this.#waiting === undefined ? this.#call.ids : [...this.#waiting];
  }

  #event(data: string): void {
    const waiting = this.#waiting;
    if (this.#verdict !== undefined || data === "" || waiting === undefined) return;
    if (data.length < 65_536 && data.includes(progressMethod)) this.#progress(data);
    const scanner = new AnswerScanner({ isError: this.#call.tool !== undefined, id: true });
    scanner.feed(Buffer.from(data, "utf8"));
    for (const answer of scanner.answers) {
      if (answer.id === undefined || !waiting.delete(answer.id)) continue; // a notification, or not ours
      this.#count(answer);
    }
    if (waiting.size === 0) this.#verdict = this.#outcome();
  }

  #progress(data: string): void {
    try {
      const message = JSON.parse(data) as { method?: unknown; params?: { progressToken?: unknown } };
      const token = message.params?.progressToken;
      if (message.method === progressMethod && this.#call.progressTokens.has(JSON.stringify(token)))
        this.#progressed = true;
    } catch {
      // not JSON: nobody's progress
    }
  }

  #count(answer: ScannedAnswer): void {
    // a stdio server's process that died under the call (SPEC §5): the server failed, not the tool
    if (answer.errorReason === "upstream_exited") {
      this.#failed = true;
      return;
    }
    const tool = this.#call.tool !== undefined;
    if (answer.errorCode === undefined) {
      if (tool && answer.isError) this.#toolErred = true;
      else this.#succeeded = true;
    } else if (this.#rules.isFailureCode(answer.errorCode)) {
      if (tool) this.#toolFailed = true;
      else this.#failed = true;
    }
  }

  /** Any failing answer fails the call; else a result makes it a success; errors alone (the client's fault) are neutral. */
  #outcome(): ExchangeOutcome {
    if (this.#failed) return "failure";
    if (this.#toolFailed) return toolFailed;
    if (this.#toolErred) return toolErred;
    return this.#succeeded ? "success" : "neutral";
  }
}
