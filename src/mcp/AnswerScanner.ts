/** One JSON-RPC response as the scanner saw it. */
export interface ScannedAnswer {
  /** The `id` as its JSON text (`1`, `"a"`, `null`); undefined when the message had none. */
  id: string | undefined;
  /** The message had a top-level `result`. */
  result: boolean;
  /** The `code` of a top-level `error` (NaN when it had no numeric code); undefined without an error. */
  errorCode: number | undefined;
  /** The `result` object said `"isError": true` (a tool that failed; SPEC §3.2). */
  isError: boolean;
}

/** Inside a string that is neither a key nor kept: only a quote or a backslash matters. */
const stringStop = /["\\]/g;

/**
 * Finds, in a JSON-RPC response or a batch of them fed chunk by chunk, each message's `id` and whether
 * it holds a `result` (and whether that says `isError: true`) or an `error` (with its code), without
 * parsing the values (SPEC §3.1): a result
 * of several megabytes is stepped over, its strings skipped with a regular-expression search. Only the
 * `id` and the `error` value are kept whole, and parsed. Bytes are read as latin1: a multi-byte UTF-8
 * character is never a quote, a backslash or a bracket, so it cannot confuse the structure.
 */
export class AnswerScanner {
  readonly answers: ScannedAnswer[] = [];
  #depth = 0;
  /** Depth of the messages' own keys: 1 for a lone response, 2 inside a batch; 0 until known. */
  #messageDepth = 0;
  #inString = false;
  #escaped = false;
  #expectKey = false;
  #expectValue = false;
  #readingKey = false;
  #key = "";
  #lastKey = "";
  #capturing = false;
  #captured = "";
  #current: ScannedAnswer | undefined;
  /** Depth of the keys of the message's `result` object while inside it; 0 elsewhere. */
  #resultDepth = 0;
  /** The value about to start is that of the result's `isError`. */
  #isErrorNext = false;
  /** Not a JSON-RPC response (a scalar at the top, a batch of scalars): reading stops. */
  #lost = false;

  /** Whether the answer was not a JSON object or an array of them. */
  get lost(): boolean {
    return this.#lost;
  }

  feed(chunk: Buffer): void {
    if (this.#lost) return;
    const text = chunk.toString("latin1");
    let keyFrom = 0;
    let captureFrom = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c) this.#escaped = true;
        else if (c === 0x22) {
          this.#inString = false;
          if (this.#readingKey) {
            this.#readingKey = false;
            this.#lastKey = this.#key + text.slice(keyFrom, i);
            this.#key = "";
          }
        } else if (!this.#readingKey && !this.#capturing) {
          stringStop.lastIndex = i + 1;
          const stop = stringStop.exec(text);
          i = (stop === null ? text.length : stop.index) - 1;
        }
        continue;
      }
      const md = this.#messageDepth;
      switch (c) {
        case 0x22: // "
          this.#inString = true;
          if (this.#depth === 0 || (this.#depth === 1 && md === 2))
            this.#lost = true; // a string, not a message
          else if ((this.#depth === md || this.#depth === this.#resultDepth) && this.#expectKey) {
            this.#expectKey = false;
            this.#readingKey = true;
            keyFrom = i + 1;
          } else if (this.#depth === md && this.#expectValue) captureFrom = this.#valueAt(i, captureFrom);
          else if (this.#depth === this.#resultDepth) this.#isErrorNext = false;
          break;
        case 0x7b: // {
        case 0x5b: // [
          if (this.#depth === 0) {
            this.#messageDepth = c === 0x7b ? 1 : 2;
            if (c === 0x7b) this.#startMessage();
          } else if (this.#depth === 1 && md === 2) {
            if (c !== 0x7b) this.#lost = true;
            this.#startMessage();
          } else if (this.#depth === md && this.#expectValue) {
            captureFrom = this.#valueAt(i, captureFrom);
            if (c === 0x7b && this.#lastKey === "result") {
              this.#resultDepth = md + 1;
              this.#expectKey = true;
            }
          } else if (this.#depth === this.#resultDepth) this.#isErrorNext = false;
          this.#depth++;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.#depth--;
          if (this.#depth === this.#resultDepth - 1) {
            this.#resultDepth = 0; // the result object ended
            this.#expectKey = false;
          }
          if (this.#depth === this.#messageDepth - 1 && this.#current !== undefined) {
            this.#endValue(text, i, captureFrom);
            this.answers.push(this.#current);
            this.#current = undefined;
          }
          break;
        case 0x3a: // :
          if (this.#depth === md) {
            this.#expectValue = true;
            if (this.#lastKey === "result" && this.#current !== undefined) this.#current.result = true;
          } else if (this.#depth === this.#resultDepth) this.#isErrorNext = this.#lastKey === "isError";
          break;
        case 0x2c: // ,
          if (this.#depth === md) {
            this.#endValue(text, i, captureFrom);
            this.#expectKey = true;
          } else if (this.#depth === this.#resultDepth) {
            this.#expectKey = true;
            this.#isErrorNext = false;
          }
          break;
        case 0x20:
        case 0x09:
        case 0x0a:
        case 0x0d:
          break;
        default:
          if (this.#depth === 0 || (this.#depth === 1 && md === 2))
            this.#lost = true; // a scalar, not a message
          else if (this.#depth === md && this.#expectValue) captureFrom = this.#valueAt(i, captureFrom);
          else if (this.#depth === this.#resultDepth && this.#isErrorNext) {
            this.#isErrorNext = false;
            if (c === 0x74 && this.#current !== undefined) this.#current.isError = true; // t(rue)
          }
      }
      if (this.#lost) return;
    }
    if (this.#readingKey) this.#key += text.slice(keyFrom);
    if (this.#capturing) this.#captured += text.slice(captureFrom);
  }

  #startMessage(): void {
    this.#current = { id: undefined, result: false, errorCode: undefined, isError: false };
    this.#expectKey = true;
  }

  /** A message's value starts at `i`: kept from there when it is the `id` or the `error`. */
  #valueAt(i: number, captureFrom: number): number {
    this.#expectValue = false;
    if (this.#lastKey !== "id" && this.#lastKey !== "error") return captureFrom;
    this.#capturing = true;
    this.#captured = "";
    return i;
  }

  #endValue(text: string, i: number, captureFrom: number): void {
    this.#expectValue = false;
    if (!this.#capturing || this.#current === undefined) return;
    this.#capturing = false;
    // read as latin1 to keep the bytes: back to UTF-8 for the kept value
    const raw = Buffer.from(this.#captured + text.slice(captureFrom, i), "latin1")
      .toString("utf8")
      .trim();
    this.#captured = "";
    if (this.#lastKey === "id") this.#current.id = raw;
    else {
      try {
        const code = (JSON.parse(raw) as { code?: unknown }).code;
        this.#current.errorCode = typeof code === "number" ? code : Number.NaN;
      } catch {
        this.#current.errorCode = Number.NaN;
      }
    }
  }
}
