import type { IncomingHttpHeaders } from "node:http";
import { EventStreamReader } from "../http/EventStreamReader.ts";
import { isEventStream } from "../http/eventStream.ts";
import type { ExchangeJudge, ExchangeOutcome, Judgement } from "../judges/ExchangeJudge.ts";
import type { FailureCause } from "../judges/failureCause.ts";
import type { ToolCatalog } from "./ToolCatalog.ts";
import { ToolListNames } from "./ToolListNames.ts";

/**
 * The most of a `tools/list` answer read for its names: a list of a thousand tools with rich schemas
 * fits; past it, the names read so far are kept and the rest is only passed through.
 */
export const maxToolListBytes = 8 * 1024 * 1024;

/**
 * Judges a `tools/list` call as the judge it wraps does, and meanwhile reads the tool names of its
 * answer into the upstream's {@link ToolCatalog} (SPEC §3.2): those tools may have circuits. A 2xx
 * JSON body is read to its end; an event stream event by event (a message with `result.tools` is the
 * list). Memory stays constant whatever the answer's size (names only, bounded by the catalogue), and
 * reading stops after `maxBytes`. What it costs: a byte loop over `tools/list` answers, which clients
 * ask for once a session; other calls never meet this judge.
 */
export class ToolListJudge implements ExchangeJudge {
  readonly #inner: ExchangeJudge;
  readonly #catalog: ToolCatalog;
  readonly #maxBytes: number;
  #read = 0;
  #json: ToolListNames | undefined;
  #events: EventStreamReader | undefined;
  #event: ToolListNames | undefined;

  constructor(inner: ExchangeJudge, catalog: ToolCatalog, maxBytes = maxToolListBytes) {
    this.#inner = inner;
    this.#catalog = catalog;
    this.#maxBytes = maxBytes;
  }

  head(status: number, headers: IncomingHttpHeaders): Judgement {
    if (status >= 200 && status < 300) {
      if (isEventStream(headers)) {
        this.#event = this.#names();
        this.#events = new EventStreamReader({
          data: (bytes) => this.#event?.feed(bytes),
          event: () => this.#eventEnd(),
          // an event the stream never ended: what was read of it is no list
          discard: () => {
            this.#event = this.#names();
          },
        });
      } else if (String(headers["content-type"]).includes("json")) this.#json = this.#names();
    }
    return this.#inner.head(status, headers);
  }

  data(chunk: Buffer): Judgement {
    if (this.#json !== undefined || this.#events !== undefined) this.#readNames(chunk);
    return this.#inner.data(chunk);
  }

  end(): ExchangeOutcome {
    if (this.#json !== undefined) this.#learn(this.#json);
    this.#json = undefined;
    return this.#inner.end();
  }

  unanswered(): readonly string[] {
    return this.#inner.unanswered?.() ?? [];
  }

  failureCause(): FailureCause | undefined {
    return this.#inner.failureCause?.();
  }

  answerError(): string | undefined {
    return this.#inner.answerError?.();
  }

  #readNames(chunk: Buffer): void {
    const room = this.#maxBytes - this.#read;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#read += part.length;
    this.#events?.feed(part);
    this.#json?.feed(part);
    if (this.#read < this.#maxBytes) return;
    // past the limit: keep what was read (the names are real), read no further
    if (this.#json !== undefined) this.#learn(this.#json);
    if (this.#event !== undefined) this.#learn(this.#event);
    this.#json = this.#events = this.#event = undefined;
  }

  #eventEnd(): void {
    if (this.#event !== undefined) this.#learn(this.#event);
    this.#event = this.#names();
  }

  #names(): ToolListNames {
    return new ToolListNames(this.#catalog.capacity);
  }

  #learn(names: ToolListNames): void {
    if (names.names.length > 0) this.#catalog.listed(names.names);
  }
}
