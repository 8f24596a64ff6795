import type { IncomingHttpHeaders } from "node:http";
import { EventStreamReader } from "../http/EventStreamReader.ts";
import { isEventStream } from "../http/eventStream.ts";
import type { ExchangeJudge, Judgement } from "../judges/ExchangeJudge.ts";

/** The JSON-RPC response a check got, as far as a check reads it. */
export interface CheckResponse {
  readonly result?: unknown;
  readonly error?: { readonly code?: unknown; readonly message?: unknown; readonly data?: unknown };
}

/** What a check's request was answered: the judge's verdict and, when it was small, the response itself. */
export interface CheckAnswer {
  readonly status: number;
  /** The answer judged as a client's call would be (SPEC §3.1). */
  readonly failed: boolean;
  /** The first JSON-RPC response in the body (a JSON body, or an event of a stream); undefined if none or too big. */
  readonly response: CheckResponse | undefined;
}

/**
 * The most of a body (or of one event) kept to read the response from: a check's answers (`server/discover`,
 * `initialize`, their errors) are a few hundred bytes; a bigger one is still judged, only not read.
 */
const keptBytes = 64 * 1024;

/**
 * Reads the answer to one of a check's requests as it streams through: every chunk to `judge` until it
 * has a verdict, and what it takes to read the response kept in bounded memory; a JSON body to its end,
 * an event stream until its response (it may go on after it: the caller ends the body).
 */
export async function readCheckAnswer(
  status: number,
  headers: IncomingHttpHeaders,
  body: AsyncIterable<Buffer>,
  judge: ExchangeJudge,
): Promise<CheckAnswer> {
  const keeper = new ResponseKeeper(headers);
  let verdict: Judgement = judge.head(status, headers);
  for await (const chunk of body) {
    keeper.feed(chunk);
    if (verdict === "pending" || verdict === "progressed") verdict = judge.data(chunk);
    if (verdict !== "pending" && verdict !== "progressed" && keeper.done) break;
  }
  if (verdict === "pending" || verdict === "progressed") verdict = judge.end();
  const outcome = typeof verdict === "string" ? verdict : verdict.whole;
  return { status, failed: outcome === "failure", response: keeper.end() };
}

/** Keeps the first JSON-RPC response of a body: a whole JSON body, or the first event that holds one. */
class ResponseKeeper {
  readonly #events: EventStreamReader | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  response: CheckResponse | undefined;

  /** Nothing more to read: the response is found (an event stream), or the body is past what is kept. */
  get done(): boolean {
    return this.#events === undefined ? this.#bytes > keptBytes : this.response !== undefined;
  }

  constructor(headers: IncomingHttpHeaders) {
    if (!isEventStream(headers)) return;
    this.#events = new EventStreamReader({
      data: (bytes) => this.#keep(bytes),
      event: () => {
        this.response ??= this.#parse();
        this.#reset();
      },
      discard: () => this.#reset(),
    });
  }

  feed(chunk: Buffer): void {
    if (this.#events === undefined) this.#keep(chunk);
    else this.#events.feed(chunk);
  }

  end(): CheckResponse | undefined {
    if (this.#events === undefined) this.response ??= this.#parse();
    return this.response;
  }

  #keep(bytes: Buffer): void {
    this.#bytes += bytes.length;
    if (this.#bytes <= keptBytes) this.#chunks.push(bytes);
  }

  #reset(): void {
    this.#chunks = [];
    this.#bytes = 0;
  }

  /** The kept bytes as a JSON-RPC response (no `method`: a server's own request or notification is none). */
  #parse(): CheckResponse | undefined {
    if (this.#bytes === 0 || this.#bytes > keptBytes) return undefined;
    try {
      const message: unknown = JSON.parse(Buffer.concat(this.#chunks).toString("utf8"));
      if (typeof message !== "object" || message === null || "method" in message) return undefined;
      return "result" in message || "error" in message ? (message as CheckResponse) : undefined;
    } catch {
      return undefined;
    }
  }
}
