import type { IncomingHttpHeaders } from "node:http";
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import type { BodyFilter } from "../exchange/BodyFilter.ts";
import { EventBoundaries, isEventStream } from "../http/eventStream.ts";
import { decodeUtf8 } from "../jsonrpc/jsonRpc.ts";
import type { BodyBudget } from "../proxy/BodyBudget.ts";
import { type UnfilteredList, unfilteredListAnswer } from "./mcpAnswers.ts";
import { maxToolListBytes } from "./ToolListJudge.ts";

/** How the upstream's body is passed on: as it is, held whole (JSON), event by event, or not at all. */
type Mode = "pass" | "json" | "events" | "dropped";

/** Decoders of the content codings an upstream may send (RFC 9110 §8.4.1), each bounded in output. */
const decoders: Readonly<Record<string, (body: Buffer, maxOutputLength: number) => Buffer>> = {
  gzip: (body, maxOutputLength) => gunzipSync(body, { maxOutputLength }),
  "x-gzip": (body, maxOutputLength) => gunzipSync(body, { maxOutputLength }),
  br: (body, maxOutputLength) => brotliDecompressSync(body, { maxOutputLength }),
  // "deflate" is the zlib format (RFC 9110 §8.4.1.2), though some servers send it raw
  deflate: (body, maxOutputLength) => {
    try {
      return inflateSync(body, { maxOutputLength });
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw error;
      return inflateRawSync(body, { maxOutputLength });
    }
  },
};

/**
 * What the client gets of a `tools/list` answer on a server with a `tools` filter (SPEC §7.1): the
 * list without the tools the filter leaves out, and everything else of the answer as it was
 * (`nextCursor`, `ttlMs`, `_meta`, …). A JSON body is held whole up to `maxBytes` and parsed — the one
 * answer the proxy parses whole, once a session and on filtered servers only; an event stream passes
 * event by event, in order and byte for byte, except the event holding the list, rewritten the same
 * way. An answer that cannot be filtered (past `maxBytes`, past the budget all lists share, or in a
 * coding the proxy cannot read) reaches the client as a JSON-RPC error, never unfiltered. It sits after the judge, which reads what
 * the upstream sent: the upstream is judged by its own answer.
 */
export class ToolListFilter implements BodyFilter {
  readonly #allows: (tool: string) => boolean;
  /** The request's id as the client wrote it (JSON text): the answer keeps it byte for byte. */
  readonly #id: string;
  readonly #budget: BodyBudget;
  readonly #maxBytes: number;
  #mode: Mode = "pass";
  /** The content coding of a JSON body to undo before it is read; undefined: none. */
  #coding: string | undefined;
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Why the answer cannot be filtered, once that is known. */
  #unfiltered: UnfilteredList | undefined;
  #boundaries: EventBoundaries | undefined;
  /** A list answer has been read (and passed on, filtered if it had to be). */
  #listSeen = false;
  /**
   * A stream outside a POST (a GET's: resumed, or of the deprecated HTTP+SSE transport): only an event
   * stream is read, and every list it carries is filtered, not only the first.
   */
  readonly #streamOnly: boolean;

  /**
   * `budget`: the bytes the lists being filtered may hold together (each is bounded by `maxBytes`),
   * so that many clients listing at once cannot take the proxy's memory.
   */
  constructor(
    allows: (tool: string) => boolean,
    id: string,
    budget: BodyBudget,
    maxBytes = maxToolListBytes,
    { streamOnly = false }: { readonly streamOnly?: boolean } = {},
  ) {
    this.#streamOnly = streamOnly;
    this.#allows = allows;
    this.#id = id;
    this.#budget = budget;
    this.#maxBytes = maxBytes;
  }

  head(status: number, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    // an error status carries no list: its body passes as it is
    if (status < 200 || status > 299) return headers;
    if (this.#streamOnly && !isEventStream(headers)) return headers;
    const { "content-length": _length, "content-encoding": encoding, ...rest } = headers;
    const coding = encoding?.trim().toLowerCase();
    const encoded = coding !== undefined && coding !== "" && coding !== "identity";
    if (isEventStream(headers)) {
      this.#mode = "events";
      this.#boundaries = new EventBoundaries();
      // a compressed event stream cannot be read event by event here: its list never passes
      if (encoded) this.#unfiltered = "list_unreadable";
    } else {
      this.#mode = "json";
      if (encoded) {
        if (decoders[coding] === undefined) this.#unfiltered = "list_unreadable";
        this.#coding = coding;
      }
    }
    // the body's length changes, and what leaves is not compressed
    return rest;
  }

  data(chunk: Buffer): Buffer | undefined {
    switch (this.#mode) {
      case "pass":
        return chunk;
      case "dropped":
        return undefined;
      case "json":
        this.#hold(chunk);
        return undefined;
      case "events":
        return this.#events(chunk);
    }
  }

  end(): Buffer | undefined {
    if (this.#mode === "json") return this.#jsonEnd();
    if (this.#mode !== "events") return undefined;
    if (this.#unfiltered !== undefined) return this.#errorEvent(this.#unfiltered);
    // an event the stream never ended is dispatched by no client (WHATWG HTML): it stays unended
    const rest = this.#take();
    return rest.length === 0 ? undefined : this.#event(rest, false);
  }

  /** Lets go of what is held, and of its room in the budget: the exchange is over, or the bytes leave. */
  close(): void {
    this.#budget.give(this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** Holds a JSON body's chunk; once it cannot, nothing more is kept (the answer will be an error). */
  #hold(chunk: Buffer): void {
    if (this.#unfiltered === undefined) this.#unfiltered = this.#keep(chunk);
  }

  /**
   * Holds `piece` while it fits the bound and the budget shared with the server's other lists; else
   * lets go of everything held and says why the answer cannot be filtered.
   */
  #keep(piece: Buffer): UnfilteredList | undefined {
    const bytes = piece.length;
    const reason =
      this.#heldBytes + bytes > this.#maxBytes
        ? "list_too_large"
        : this.#budget.take(bytes)
          ? undefined
          : "proxy_resources";
    if (reason !== undefined) {
      this.close();
      return reason;
    }
    this.#heldBytes += bytes;
    this.#held.push(piece);
    return undefined;
  }

  #jsonEnd(): Buffer {
    if (this.#unfiltered !== undefined) return this.#error(this.#unfiltered);
    let body = this.#take();
    if (this.#coding !== undefined) {
      try {
        body = (decoders[this.#coding] as NonNullable<(typeof decoders)[string]>)(body, this.#maxBytes);
      } catch (error) {
        const tooLarge = (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
        return this.#error(tooLarge ? "list_too_large" : "list_unreadable");
      }
    }
    // an answer the proxy cannot read as one JSON-RPC message might still be read as a list by a
    // client (a byte order mark, an array): it never passes unfiltered
    const read = this.#read(body);
    if (read === undefined) return this.#error("list_unreadable");
    return this.#filtered(read) ?? body;
  }

  /** A JSON body as one JSON-RPC message (a byte order mark dropped, as clients do); undefined: not one. */
  #read(body: Buffer): Record<string, unknown> | undefined {
    try {
      const message: unknown = JSON.parse(decodeUtf8(body));
      return typeof message === "object" && message !== null && !Array.isArray(message)
        ? (message as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** The events a chunk ends, each as it was but the list's; the rest of the chunk is held. */
  #events(chunk: Buffer): Buffer | undefined {
    if (this.#unfiltered !== undefined) return undefined;
    const ends = (this.#boundaries as EventBoundaries).ends(chunk);
    const out: Buffer[] = [];
    let start = 0;
    for (const end of ends) {
      const refused = this.#keep(chunk.subarray(start, end));
      if (refused !== undefined) return this.#unfilteredEvent(out, refused);
      start = end;
      out.push(this.#event(this.#take(), true));
      if (this.#listSeen && !this.#streamOnly) {
        // the list has passed: the rest of the stream is none of the filter's business
        this.#mode = "pass";
        if (start < chunk.length) out.push(chunk.subarray(start));
        return Buffer.concat(out);
      }
    }
    const refused = start < chunk.length ? this.#keep(chunk.subarray(start)) : undefined;
    if (refused !== undefined) return this.#unfilteredEvent(out, refused);
    return out.length === 0 ? undefined : Buffer.concat(out);
  }

  /** An event that cannot be held may be the list: the client gets the error instead, and nothing after it. */
  #unfilteredEvent(out: Buffer[], reason: UnfilteredList): Buffer {
    this.#mode = "dropped";
    out.push(this.#errorEvent(reason));
    return Buffer.concat(out);
  }

  /** One event's bytes as the client gets them: the list's rewritten, any other as it was. */
  #event(raw: Buffer, ended: boolean): Buffer {
    const fields = raw.toString("utf8").split(/\r\n|\r|\n/);
    const data: string[] = [];
    for (const field of fields) {
      const line = field.charCodeAt(0) === 0xfeff ? field.slice(1) : field;
      if (line === "data") data.push("");
      else if (line.startsWith("data:")) data.push(line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5));
    }
    if (data.length === 0) return raw;
    const message = this.#read(Buffer.from(data.join("\n")));
    // an event's data that is no JSON-RPC message is no list for a client either
    const filtered = message === undefined ? undefined : this.#filtered(message);
    if (filtered === undefined) return raw;
    // the event's other fields (event, id, retry, comments) stay; its data becomes one line
    const lines: string[] = [];
    let dataWritten = false;
    for (const field of fields) {
      const line = field.charCodeAt(0) === 0xfeff ? field.slice(1) : field;
      if (line === "") continue;
      if (line !== "data" && !line.startsWith("data:")) lines.push(line);
      else if (!dataWritten) {
        dataWritten = true;
        lines.push(`data: ${filtered.toString("utf8")}`);
      }
    }
    return Buffer.from(`${lines.join("\n")}\n${ended ? "\n" : ""}`);
  }

  /**
   * The answer without the tools the filter leaves out, as JSON text; undefined when it is no list
   * answer (no `result.tools` array) or the filter leaves every tool in.
   */
  #filtered(message: Record<string, unknown>): Buffer | undefined {
    const { result } = message as { result?: unknown };
    if (typeof result !== "object" || result === null) return undefined;
    const { tools } = result as { tools?: unknown };
    if (!Array.isArray(tools)) return undefined;
    this.#listSeen = true;
    // a tool without a name cannot be called, nor let in by a filter over names
    const kept = tools.filter((tool: { name?: unknown } | null) => {
      const name = tool?.name;
      return typeof name === "string" && this.#allows(name);
    });
    if (kept.length === tools.length) return undefined;
    const answer = { ...message, result: { ...result, tools: kept } };
    return Buffer.from(this.#serialised(answer));
  }

  /** The answer as JSON text, its id as the client wrote it (JSON.parse rounds an integer past 2^53). */
  #serialised(answer: Record<string, unknown>): string {
    const { id, ...rest } = answer;
    if (!("id" in answer) || JSON.parse(this.#id) !== id) return JSON.stringify(answer);
    const tail = JSON.stringify(rest);
    return tail === "{}" ? `{"id":${this.#id}}` : `{"id":${this.#id},${tail.slice(1)}`;
  }

  #error(reason: UnfilteredList): Buffer {
    return Buffer.from(unfilteredListAnswer(this.#id, reason, this.#maxBytes));
  }

  #errorEvent(reason: UnfilteredList): Buffer {
    return Buffer.from(`event: message\ndata: ${unfilteredListAnswer(this.#id, reason, this.#maxBytes)}\n\n`);
  }

  /** The held bytes, now no longer held (nor counted: they are written or dropped at once). */
  #take(): Buffer {
    const body = this.#held.length === 1 ? (this.#held[0] as Buffer) : Buffer.concat(this.#held);
    this.close();
    return body;
  }
}
