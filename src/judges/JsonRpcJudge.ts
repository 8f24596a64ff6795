import type { IncomingHttpHeaders } from "node:http";
import { EventStreamReader } from "../http/EventStreamReader.ts";
import { isEventStream } from "../http/eventStream.ts";
import { AnswerScanner, type ScannedMessage } from "../jsonrpc/AnswerScanner.ts";
import type { JsonRpcCall } from "../jsonrpc/jsonRpcCall.ts";
import { idValueKey } from "../jsonrpc/jsonRpcId.ts";
import type { ExchangeJudge, ExchangeOutcome, Judgement, SplitOutcome } from "./ExchangeJudge.ts";
import { exitCause, type FailureCause, isErrorCause, jsonRpcCause, streamCutCause } from "./failureCause.ts";

/** What decides a JSON-RPC call's outcome besides its answer: the statuses and error codes that fail. */
export interface JsonRpcRules {
  readonly isFailureStatus: (status: number) => boolean;
  readonly isFailureCode: (code: number) => boolean;
}

/** A tool call answered with a failing error code: the tool is blamed, the server heard nothing. */
const toolFailed: SplitOutcome = { upstream: "neutral", tool: "failure", whole: "failure" };
/**
 * A tool result with `isError: true`: the server did its job, the tool did not — or its caller erred
 * (a path outside the allowed folder): it counts toward the tool circuit's failure rate only.
 */
const toolErred: SplitOutcome = {
  upstream: "success",
  tool: "failure",
  whole: "success",
  toolFailure: { consecutive: false },
};

/** What a tool result with `isError: true` says went wrong, as traces name it (SPEC §9 `error.type`). */
const toolErrorType = "tool_error";
const progressMethod = "notifications/progress";
/** What a `subscriptions/listen` stream sends first, naming the listen request (MCP 2026-07-28). */
const acknowledgedMethod = "notifications/subscriptions/acknowledged";
/** The `data.reason` of the proxy's own errors for a stdio process it gave up on: the cause, not the code. */
const faultReasons = new Set(["message_too_large", "stdin_stuck"]);

/** What the answers read so far say: kept per event until the event is dispatched, then merged. */
interface Findings {
  failed: boolean;
  toolFailed: boolean;
  toolErred: boolean;
  /** Some answer was a result. */
  succeeded: boolean;
  progressed: boolean;
  /** Some event carried an `id`: the stream can be resumed (MCP 2025-11-25, SEP-1699). */
  resumable: boolean;
  /** Why the first failing answer (a failure or a tool's failure) failed; set only on one. */
  cause: FailureCause | undefined;
  /** The code of the first error answer, failing or not (for traces). */
  errorCode: number | undefined;
}

const nothingFound = (): Findings => ({
  failed: false,
  toolFailed: false,
  toolErred: false,
  succeeded: false,
  progressed: false,
  resumable: false,
  cause: undefined,
  errorCode: undefined,
});

/**
 * Judges a JSON-RPC call by its answer, read as it streams through (SPEC §3.1): a JSON body when it
 * ends, or the events of an event stream until the one answering each of the call's ids. A `result`
 * is a success; an `error` is a failure when its code is listed (`proxy.jsonrpc_failure_codes`), neutral
 * otherwise (the client's own fault); a batch with any failing answer is a failure. For a tool call
 * (§3.2) a failing code or an `isError` result blames the tool alone. An event stream that ends before
 * every answer came is a failure (`stream_cut`), and so is any body cut short. A 2xx JSON body that is
 * no JSON-RPC response is judged as §2 (a success once complete); so is any other body. Progress
 * notifications for the call's tokens are reported, for its answer timeout.
 *
 * A `subscriptions/listen` stream (SPEC §8.1) is answered by its acknowledgement, a notification whose
 * `_meta["io.modelcontextprotocol/subscriptionId"]` is the listen request's id: a success, after which
 * the stream is no longer judged (its end is no outcome). An earlier-era stream that ends cleanly after
 * an event with an `id` is resumable (MCP 2025-11-25 SEP-1699: the client resumes it with a GET and
 * `Last-Event-ID`): the upstream has not failed, the call is neutral.
 *
 * Only a message without `method` answers (JSON-RPC 2.0 §5): a server's own request on the call's
 * stream may carry an equal id, since each side numbers its requests. Ids are matched by value (see
 * `idValueKey`). An event counts once it is dispatched (its blank line came), as a client sees it.
 * Nothing is kept of an answer but what the scanner reads of it: memory is constant whatever its size.
 */
export class JsonRpcJudge implements ExchangeJudge {
  readonly #rules: JsonRpcRules;
  readonly #call: JsonRpcCall;
  /** The call's ids not answered yet, by value key, with their text as the client wrote it (event streams only). */
  #waiting: Map<string, string> | undefined;
  /** The progress tokens of the call, by value key. */
  #tokens: Set<string> | undefined;
  #scanner: AnswerScanner | undefined;
  #events: EventStreamReader | undefined;
  #found = nothingFound();
  /** What the event being read says, and the ids it answers (by key): merged when it is dispatched. */
  #inEvent = nothingFound();
  #answeredInEvent: string[] = [];
  #verdict: ExchangeOutcome | undefined;
  /** A JSON body held an answer (a response without `method`). */
  #anyAnswer = false;

  constructor(call: JsonRpcCall, rules: JsonRpcRules) {
    this.#rules = rules;
    this.#call = call;
  }

  head(status: number, headers: IncomingHttpHeaders): Judgement {
    if (this.#rules.isFailureStatus(status)) return "failure";
    if (status < 200 || status >= 300) return "neutral";
    const isError = this.#call.tool !== undefined;
    if (isEventStream(headers)) {
      this.#waiting = new Map();
      for (const id of this.#call.ids) this.#waiting.set(idValueKey(id) ?? id, id);
      this.#tokens = new Set([...this.#call.progressTokens].map((token) => idValueKey(token) ?? token));
      const scanner = new AnswerScanner((m) => this.#eventMessage(m), { isError, id: true, progress: true });
      this.#scanner = scanner;
      this.#events = new EventStreamReader({
        data: (bytes) => scanner.feed(bytes),
        event: () => this.#eventEnded(true),
        discard: () => this.#eventEnded(false),
        // a modern stream cannot be resumed (MCP 2026-07-28: a broken stream loses the request)
        id: this.#call.modern === true ? undefined : () => this.#resumable(),
      });
    } else if (String(headers["content-type"]).includes("json")) {
      // a JSON body is the answer whatever its id; a tool's result is read on for its isError
      const found = this.#found;
      this.#scanner = new AnswerScanner((m) => this.#count(m, found), {
        isError,
        id: false,
        progress: false,
      });
    }
    return "pending";
  }

  data(chunk: Buffer): Judgement {
    const events = this.#events;
    if (events === undefined) {
      this.#scanner?.feed(chunk);
      return "pending";
    }
    events.feed(chunk);
    if (this.#verdict !== undefined) return this.#verdict;
    if (!this.#found.progressed) return "pending";
    this.#found.progressed = false;
    return "progressed";
  }

  end(): ExchangeOutcome {
    if (this.#events !== undefined) {
      if (this.#verdict !== undefined) return this.#verdict;
      if (this.#found.resumable) return "neutral"; // closed for the client to resume (SEP-1699)
      this.#found.cause = streamCutCause; // the stream ended before the answer
      return "failure";
    }
    const scanner = this.#scanner;
    const found = this.#found;
    // no JSON-RPC response (not JSON, or only requests): judged as §2, a success once complete
    if (scanner === undefined || scanner.lost || !this.#anyAnswer) return "success";
    return this.#outcome(found);
  }

  failureCause(): FailureCause | undefined {
    const found = this.#found;
    return found.cause ?? (found.toolErred ? isErrorCause : undefined);
  }

  answerError(): string | undefined {
    const found = this.#found;
    if (found.errorCode !== undefined) return String(found.errorCode);
    return found.toolErred ? toolErrorType : undefined;
  }

  unanswered(): readonly string[] {
    return this.#waiting === undefined ? this.#call.ids : [...this.#waiting.values()];
  }

  #eventMessage(message: ScannedMessage): void {
    const waiting = this.#waiting as Map<string, string>;
    if (message.request) {
      const token = message.progressToken;
      if (message.method === progressMethod && token !== undefined)
        this.#inEvent.progressed ||= (this.#tokens as Set<string>).has(idValueKey(token) ?? token);
      else if (message.method === acknowledgedMethod) this.#acknowledged(message, waiting);
      return;
    }
    if (!isResponse(message)) return;
    const key = message.id === undefined ? undefined : idValueKey(message.id);
    if (key === undefined || !waiting.has(key) || this.#answeredInEvent.includes(key)) return; // not ours
    this.#answeredInEvent.push(key);
    this.#count(message, this.#inEvent);
  }

  #resumable(): void {
    this.#inEvent.resumable = true;
  }

  /**
   * A listen stream's acknowledgement: it answers the listen request it names (by value), as a
   * success. Only a notification acknowledges: a request (it has an id) is the server's own.
   */
  #acknowledged(message: ScannedMessage, waiting: Map<string, string>): void {
    const subscription = message.subscriptionId;
    if (message.id !== undefined || subscription === undefined) return;
    const key = idValueKey(subscription);
    if (key === undefined || !waiting.has(key) || this.#answeredInEvent.includes(key)) return;
    this.#answeredInEvent.push(key);
    this.#inEvent.succeeded = true;
  }

  /** An event was dispatched (`delivered`), or dropped unfinished: what it said counts only if delivered. */
  #eventEnded(delivered: boolean): void {
    this.#scanner?.reset();
    const seen = this.#inEvent;
    const answered = this.#answeredInEvent;
    this.#inEvent = nothingFound();
    this.#answeredInEvent = [];
    if (!delivered || this.#verdict !== undefined) return;
    const found = this.#found;
    found.failed ||= seen.failed;
    found.toolFailed ||= seen.toolFailed;
    found.toolErred ||= seen.toolErred;
    found.succeeded ||= seen.succeeded;
    found.progressed ||= seen.progressed;
    found.resumable ||= seen.resumable;
    found.cause ??= seen.cause;
    found.errorCode ??= seen.errorCode;
    const waiting = this.#waiting as Map<string, string>;
    for (const key of answered) waiting.delete(key);
    if (answered.length > 0 && waiting.size === 0) this.#verdict = this.#outcome(found);
  }

  #count(answer: ScannedMessage, found: Findings): void {
    if (!isResponse(answer)) return;
    this.#anyAnswer = true;
    found.errorCode ??= answer.errorCode;
    // a stdio server's process that died under the call (SPEC §5): the server failed, not the tool —
    // unless Breakwater stopped it itself (a DELETE, idle expiry, shutdown: SPEC §8.3), which is nobody's failure
    if (answer.errorReason === "upstream_exited") {
      if (answer.errorStopped !== undefined) return;
      found.failed = true;
      found.cause ??= exitCause(answer.errorExitCode, answer.errorSignal);
      return;
    }
    const tool = this.#call.tool !== undefined;
    if (answer.errorCode === undefined) {
      if (tool && answer.isError) found.toolErred = true;
      else found.succeeded = true;
    } else if (this.#rules.isFailureCode(answer.errorCode)) {
      if (tool) found.toolFailed = true;
      else found.failed = true;
      // a fault of a stdio process (message_too_large, stdin_stuck) says which; else the code does
      found.cause ??= faultReasons.has(answer.errorReason ?? "")
        ? (answer.errorReason as string)
        : jsonRpcCause(answer.errorCode);
    }
  }

  /** Any failing answer fails the call; else a result makes it a success; errors alone (the client's fault) are neutral. */
  #outcome(found: Findings): ExchangeOutcome {
    if (found.failed) return "failure";
    if (found.toolFailed) return toolFailed;
    if (found.toolErred) return toolErred;
    return found.succeeded ? "success" : "neutral";
  }
}

/**
 * A JSON-RPC response: a `result` or an `error`, and no `method` (JSON-RPC 2.0 §5) — a server's own
 * request may carry an id equal to the call's, since each side numbers its requests from 0.
 */
function isResponse(message: ScannedMessage): boolean {
  return !message.request && (message.result || message.errorCode !== undefined);
}
