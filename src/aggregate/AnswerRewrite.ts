import type { IncomingHttpHeaders } from "node:http";
import type { BodyFilter } from "../exchange/BodyFilter.ts";
import { EventBoundaries, isEventStream } from "../http/eventStream.ts";
import type { BodyBudget } from "../proxy/BodyBudget.ts";
import { type AnswerContext, rewriteMessage } from "./answerMessages.ts";

/** How the server's body goes on: as it is, held whole (JSON), or event by event. */
type Mode = "pass" | "json" | "events";

/** What a rewrite needs besides the call's context: the bound of what it holds, and who hears of passing. */
export interface AnswerHolding {
  /** The bytes all held answers may take together (the listener's budget). */
  readonly budget: BodyBudget;
  /** The most one answer (or one event) is held for; past it, it passes unchanged. */
  readonly maxBytes: number;
  /** Told when an answer passed unchanged because it could not be held (URIs left unprefixed). */
  readonly onUnheld?: (() => void) | undefined;
}

/**
 * What the aggregate's client gets of a server's answer (SPEC §7.2): each message as
 * {@link rewriteMessage} makes it. A JSON body is held to its end (a client reads it whole anyway),
 * within `maxBytes` and the shared budget; an event stream is rewritten event by event, each passing
 * as soon as it ends. An answer (or event) that cannot be held passes as it came. It sits after the
 * judge: the server is judged by what it sent.
 */
export class AnswerRewrite implements BodyFilter {
  readonly #context: AnswerContext;
  readonly #holding: AnswerHolding;
  #mode: Mode = "pass";
  #held: Buffer[] = [];
  #heldBytes = 0;
  #boundaries: EventBoundaries | undefined;
  /** An event stream's current event could not be held: it passes as it comes, until its end. */
  #passingEvent = false;

  constructor(context: AnswerContext, holding: AnswerHolding) {
    this.#context = context;
    this.#holding = holding;
  }

  head(status: number, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    if (status < 200 || status > 299) return headers;
    const coding = headers["content-encoding"]?.trim().toLowerCase();
    // a compressed answer is not read here: it passes as it came
    if (coding !== undefined && coding !== "" && coding !== "identity") return headers;
    if (isEventStream(headers)) {
      this.#mode = "events";
      this.#boundaries = new EventBoundaries();
      return headers;
    }
    this.#mode = "json";
    const { "content-length": _length, ...rest } = headers;
    return rest;
  }

  data(chunk: Buffer): Buffer | undefined {
    if (this.#mode === "pass") return chunk;
    if (this.#mode === "json") return this.#hold(chunk) ? undefined : this.#giveUp(chunk);
    return this.#events(chunk);
  }

  end(): Buffer | undefined {
    if (this.#mode === "pass" || this.#heldBytes === 0) return undefined;
    const held = this.#take();
    if (this.#mode === "events") return held; // an event the stream never ended: no client dispatches it
    const rewritten = rewriteMessage(held, this.#context);
    return rewritten instanceof Buffer ? rewritten : held;
  }

  close(): void {
    this.#holding.budget.give(this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** Holds `piece` if the bound and the budget allow it. */
  #hold(piece: Buffer): boolean {
    const bytes = piece.length;
    if (this.#heldBytes + bytes > this.#holding.maxBytes || !this.#holding.budget.take(bytes)) return false;
    this.#held.push(piece);
    this.#heldBytes += bytes;
    return true;
  }

  /** Cannot hold more: what is held and `chunk` go now, and the rest of the body as it comes. */
  #giveUp(chunk: Buffer): Buffer {
    this.#mode = "pass";
    this.#holding.onUnheld?.();
    const held = this.#take();
    return held.length === 0 ? chunk : Buffer.concat([held, chunk]);
  }

  /**
   * The events `chunk` ends, each rewritten; the unfinished one is held. An event that cannot be held
   * passes as it comes, to its end only: the events after it are rewritten again (one large event, or a
   * moment the shared budget is spent, must not let a server's later requests reach the client unread).
   */
  #events(chunk: Buffer): Buffer | undefined {
    const ends = (this.#boundaries as EventBoundaries).ends(chunk);
    const out: Buffer[] = [];
    let start = 0;
    for (const end of ends) {
      const piece = chunk.subarray(start, end);
      start = end;
      if (this.#passingEvent) {
        this.#passingEvent = false;
        out.push(piece);
      } else if (this.#hold(piece)) out.push(this.#event(this.#take()));
      else out.push(this.#unheld(piece));
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0 && (this.#passingEvent || !this.#hold(rest))) {
      out.push(this.#passingEvent ? rest : this.#unheld(rest));
      this.#passingEvent = true;
    }
    return out.length === 0 ? undefined : Buffer.concat(out);
  }

  /** What is held of an event that cannot be held whole, and `piece` of it: passed as they came. */
  #unheld(piece: Buffer): Buffer {
    this.#holding.onUnheld?.();
    const held = this.#take();
    return held.length === 0 ? piece : Buffer.concat([held, piece]);
  }

  /** One whole event as the client gets it: its message rewritten, its other fields kept. */
  #event(raw: Buffer): Buffer {
    const fields = raw.toString("utf8").split(/\r\n|\r|\n/);
    const data: string[] = [];
    for (const field of fields) {
      if (field === "data") data.push("");
      else if (field.startsWith("data:")) data.push(field.slice(field.charCodeAt(5) === 0x20 ? 6 : 5));
    }
    if (data.length === 0) return raw;
    const rewritten = rewriteMessage(Buffer.from(data.join("\n")), this.#context);
    if (rewritten === "unchanged") return raw;
    if (rewritten === "dropped") return Buffer.alloc(0);
    const lines: string[] = [];
    let written = false;
    for (const field of fields) {
      if (field === "") continue;
      if (field !== "data" && !field.startsWith("data:")) lines.push(field);
      else if (!written) {
        written = true;
        for (const line of rewritten.toString("utf8").split("\n")) lines.push(`data: ${line}`);
      }
    }
    return Buffer.from(`${lines.join("\n")}\n\n`);
  }

  /** The held bytes, no longer held nor counted. */
  #take(): Buffer {
    const body = this.#held.length === 1 ? (this.#held[0] as Buffer) : Buffer.concat(this.#held);
    this.close();
    return body;
  }
}

/** `first`'s output goes through `second`: the aggregate's rewrite before the pool's own filter. */
export function chainFilters(first: BodyFilter, second: BodyFilter | undefined): BodyFilter {
  if (second === undefined) return first;
  const through = (bytes: Buffer | undefined) => (bytes === undefined ? undefined : second.data(bytes));
  return {
    head: (status, headers) => second.head(status, first.head(status, headers)),
    data: (chunk) => through(first.data(chunk)),
    end() {
      const last = through(first.end());
      const rest = second.end();
      if (last === undefined) return rest;
      return rest === undefined ? last : Buffer.concat([last, rest]);
    },
    close() {
      first.close?.();
      second.close?.();
    },
  };
}
