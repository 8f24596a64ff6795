/** One JSON-RPC response as the scanner saw it. */
export interface ScannedAnswer {
  /** The `id` as its JSON text (`1`, `"a"`, `null`); undefined when the message had none (or it was not wanted). */
  id: string | undefined;
  /** The message had a top-level `result`. */
  result: boolean;
  /** The `code` of a top-level `error` (NaN when it had no numeric code); undefined without an error. */
  errorCode: number | undefined;
  /** The `result` object said `"isError": true` (a tool that failed; SPEC §3.2). */
  isError: boolean;
  /** The error's `data.reason`, when it is a string (the proxy's own errors say what failed). */
  errorReason?: string;
}

/** The keys the scanner minds; any other is `otherKey`. */
type Key = 0 | 1 | 2 | 3 | 4;
const otherKey = 0;
const idKey = 1;
const errorKey = 2;
const resultKey = 3;
const isErrorKey = 4;
const keys = new Map<string, Key>([
  ["id", idKey],
  ["error", errorKey],
  ["result", resultKey],
  ["isError", isErrorKey],
]);
const keyBytes = [...keys].map(([name, key]) => [Buffer.from(name, "latin1"), key] as const);

/** The key whose name is `bytes[from, to)`, compared byte by byte: no string is made for it. */
function keyIn(bytes: Buffer, from: number, to: number): Key {
  next: for (const [name, key] of keyBytes) {
    if (name.length !== to - from) continue;
    for (let j = 0; j < name.length; j++) if (bytes[from + j] !== name[j]) continue next;
    return key;
  }
  return otherKey;
}

/** How far a string is read byte by byte before a native search takes over: most strings are short. */
const nearBytes = 32;
/**
 * A string with escaped quotes closer together than this on average (JSON inside a string) is read
 * byte by byte: a native search costs a call per quote, about what reading 24 bytes costs.
 */
const denseSpacing = 24;

/**
 * The index of the quote that closes a string whose body goes on at `from`, or -1 when it does not
 * close in `bytes`. A short string is read byte by byte; a long one is searched with `indexOf` (a
 * native scan that costs next to nothing per byte), a quote being escaped when an odd number of
 * backslashes comes before it; one dense with escaped quotes (JSON inside a string) is read byte by
 * byte again. `bytes[from - 1]` is never a backslash of the string's body.
 */
function closingQuote(bytes: Buffer, from: number): number {
  const near = Math.min(bytes.length, from + nearBytes);
  for (let j = from; j < near; j++) {
    const b = bytes[j];
    if (b === 0x22) return j;
    if (b === 0x5c) return closingQuoteByBytes(bytes, j);
  }
  let quote = bytes.indexOf(0x22, near);
  let escapedQuotes = 0;
  while (quote >= 0) {
    let backslashes = 0;
    for (let j = quote - 1; j >= from && bytes[j] === 0x5c; j--) backslashes++;
    if ((backslashes & 1) === 0) return quote;
    if (++escapedQuotes >= 8 && quote - from < escapedQuotes * denseSpacing)
      return closingQuoteByBytes(bytes, quote + 1);
    quote = bytes.indexOf(0x22, quote + 1);
  }
  return -1;
}

/** `closingQuote` byte by byte, from a byte that is not escaped. */
function closingQuoteByBytes(bytes: Buffer, from: number): number {
  for (let j = from; j < bytes.length; j++) {
    const b = bytes[j];
    if (b === 0x5c) j++;
    else if (b === 0x22) return j;
  }
  return -1;
}

/** Whether `bytes` ends in an unfinished escape (an odd run of backslashes after `from`). */
function endsInEscape(bytes: Buffer, from: number): boolean {
  let backslashes = 0;
  for (let j = bytes.length - 1; j >= from && bytes[j] === 0x5c; j--) backslashes++;
  return (backslashes & 1) === 1;
}

/**
 * Finds, in a JSON-RPC response or a batch of them fed chunk by chunk, each message's `id` and whether
 * it holds a `result` (and whether that says `isError: true`) or an `error` (with its code), without
 * parsing the values (SPEC §3.1): a result
 * of several megabytes is stepped over — values deeper than the keys it reads in a tight loop that
 * minds only strings and brackets, long strings with a native search. Only the `id` and the `error`
 * value are kept whole, and parsed. It reads bytes: a multi-byte UTF-8 character is never a quote, a
 * backslash or a bracket, so it cannot confuse the structure.
 */
export class AnswerScanner {
  readonly answers: ScannedAnswer[] = [];
  /** Whether a result's `isError` matters (a tool call's), and whether the id does (to match an answer). */
  readonly #wants: { readonly isError: boolean; readonly id: boolean };
  /** A lone result whose verdict is known: the rest, however long, need not be read. */
  #done = false;
  #depth = 0;
  /** Depth of the messages' own keys: 1 for a lone response, 2 inside a batch; 0 until known. */
  #messageDepth = 0;
  #inString = false;
  #escaped = false;
  #expectKey = false;
  #expectValue = false;
  #readingKey = false;
  /** The start of a key that a chunk cut (rare), as latin1 text. */
  #keyStart = "";
  /** The key last read, as one of the few the scanner minds (`otherKey` for the rest). */
  #lastKey: Key = otherKey;
  #capturing = false;
  /** The kept value's bytes from earlier chunks. */
  #captured: Buffer[] = [];
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

  /** Feeds the answer's next bytes. */
  /**
   * `wants`: what the reader needs besides `result` and `error` (default: both). Without `isError`, and
   * with the `id` seen (or not wanted), reading a lone response stops at its `result` key: a result of
   * megabytes costs nothing more.
   */
  constructor(wants: { isError: boolean; id: boolean } = { isError: true, id: true }) {
    this.#wants = wants;
  }

  feed(bytes: Buffer): void {
    if (this.#lost || this.#done) return;
    let keyFrom = 0;
    let captureFrom = 0;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c) this.#escaped = true;
        else if (c === 0x22) {
          this.#inString = false;
          if (this.#readingKey) {
            this.#readingKey = false;
            this.#lastKey =
              this.#keyStart === ""
                ? keyIn(bytes, keyFrom, i)
                : (keys.get(this.#keyStart + bytes.toString("latin1", keyFrom, i)) ?? otherKey);
            this.#keyStart = "";
          }
        } else if (!this.#readingKey && !this.#capturing) {
          // a value nobody keeps: stepped over to its closing quote, which the next turn reads
          const end = closingQuote(bytes, i);
          if (end >= 0) i = end - 1;
          else {
            this.#escaped = endsInEscape(bytes, i);
            i = bytes.length;
          }
        }
        continue;
      }
      if (this.#depth > (this.#resultDepth || this.#messageDepth) && this.#messageDepth !== 0) {
        const next = this.#skipDeep(bytes, i);
        if (next !== i) {
          i = next - 1;
          continue;
        } // else at the bracket that closes back to the read level: read below
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
            if (c === 0x7b && this.#lastKey === resultKey) {
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
            this.#endValue(bytes, i, captureFrom);
            this.answers.push(this.#current);
            this.#current = undefined;
          }
          break;
        case 0x3a: // :
          if (this.#depth === md) {
            this.#expectValue = true;
            const current = this.#current;
            if (this.#lastKey === resultKey && current !== undefined) {
              current.result = true;
              if (md === 1 && !this.#wants.isError && (!this.#wants.id || current.id !== undefined)) {
                this.answers.push(current);
                this.#done = true;
                return;
              }
            }
          } else if (this.#depth === this.#resultDepth) this.#isErrorNext = this.#lastKey === isErrorKey;
          break;
        case 0x2c: // ,
          if (this.#depth === md) {
            this.#endValue(bytes, i, captureFrom);
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
    if (this.#readingKey) this.#keyStart += bytes.toString("latin1", keyFrom);
    // a copy: the chunk's memory belongs to the socket, which reuses it
    if (this.#capturing) this.#captured.push(Buffer.from(bytes.subarray(captureFrom)));
  }

  /**
   * Steps over a value deeper than any key that is read (a result's content, an error's data): only
   * strings and brackets matter there. Stops before the bracket that closes back to the read level,
   * for the main loop; returns where it stopped (the end of `bytes` when a string runs on past it).
   */
  #skipDeep(bytes: Buffer, from: number): number {
    const watched = this.#resultDepth || this.#messageDepth;
    let depth = this.#depth;
    let i = from;
    while (i < bytes.length) {
      const c = bytes[i];
      if (c === 0x22) {
        const end = closingQuote(bytes, i + 1);
        if (end < 0) {
          this.#inString = true;
          this.#escaped = endsInEscape(bytes, i + 1);
          i = bytes.length;
          break;
        }
        i = end + 1;
        continue;
      }
      if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (depth === watched + 1) break;
        depth--;
      }
      i++;
    }
    this.#depth = depth;
    return i;
  }

  #startMessage(): void {
    this.#current = { id: undefined, result: false, errorCode: undefined, isError: false };
    this.#expectKey = true;
  }

  /** A message's value starts at `i`: kept from there when it is the `error`, or the `id` when wanted. */
  #valueAt(i: number, captureFrom: number): number {
    this.#expectValue = false;
    const kept = this.#lastKey === errorKey || (this.#lastKey === idKey && this.#wants.id);
    if (!kept) return captureFrom;
    this.#capturing = true;
    this.#captured = [];
    return i;
  }

  #endValue(bytes: Buffer, i: number, captureFrom: number): void {
    this.#expectValue = false;
    if (!this.#capturing || this.#current === undefined) return;
    this.#capturing = false;
    const last = bytes.subarray(captureFrom, i);
    const kept = this.#captured.length === 0 ? last : Buffer.concat([...this.#captured, last]);
    const raw = kept.toString("utf8").trim();
    this.#captured = [];
    if (this.#lastKey === idKey) this.#current.id = raw;
    else {
      try {
        const { code, data } = JSON.parse(raw) as { code?: unknown; data?: { reason?: unknown } };
        this.#current.errorCode = typeof code === "number" ? code : Number.NaN;
        if (typeof data?.reason === "string") this.#current.errorReason = data.reason;
      } catch {
        this.#current.errorCode = Number.NaN;
      }
    }
  }
}
