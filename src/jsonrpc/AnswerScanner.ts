import {
  batch,
  decodeString,
  error,
  fillField,
  idSlot,
  keysOf,
  message,
  methodSlot,
  noSlot,
  params,
  result,
} from "./answerFields.ts";
import { closingQuote, endsInEscape } from "./jsonSkipping.ts";
import { maxCapturedBytes, type ScannedMessage, type ScannerWants } from "./ScannedMessage.ts";

export type { ScannedMessage, ScannerWants } from "./ScannedMessage.ts";

/** Keys the scanner minds are short; even written with `\u` escapes they fit in this. */
const maxKeyBytes = 128;

// Where the reading is.
const value = 0;
const key = 1;
const colon = 2;
const after = 3;
const string = 4;
const scalar = 5;
const skipping = 6;
const ended = 7;

const isDelimiter = (c: number) => c === 0x2c || c === 0x7d || c === 0x5d || isSpace(c);
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads, from a JSON-RPC message or a batch of them fed chunk by chunk, what judging a call needs (SPEC
 * §3.1): each message's `id` (as written), whether it has a `method` (then it is no answer), a
 * `result` (and its `isError`), an `error`'s `code` and `data.reason`, and `params.progressToken`.
 * Nothing else is kept and no value is parsed whole: a result or an error of megabytes is stepped over
 * (strings with a native search), so memory stays constant whatever the answer's size. It reads bytes:
 * a multi-byte UTF-8 character is never a quote, a backslash or a bracket. Duplicate keys: the last
 * wins, as with `JSON.parse`. Each message is handed to `onMessage` when it closes.
 */
export class AnswerScanner {
  readonly #wants: ScannerWants;
  readonly #onMessage: (message: ScannedMessage) => void;
  #state = value;
  /** The objects being read, outermost first (`message`, `result`, … or `batch`). */
  #frames: number[] = [];
  #current: ScannedMessage | undefined;
  /** What the value about to start is: a slot to keep, or an object to read (else stepped over). */
  #slot = noSlot;
  #object = 0;
  /** The string being read is a key. */
  #readingKey = false;
  #escaped = false;
  /** Brackets open in the value being stepped over; whether it is inside a string. */
  #skipDepth = 0;
  #skipInString = false;
  /** The kept text: where it starts in the current chunk, and what earlier chunks held. */
  #captureFrom = 0;
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #overflow = false;
  #lost = false;

  constructor(onMessage: (message: ScannedMessage) => void, wants: ScannerWants) {
    this.#onMessage = onMessage;
    this.#wants = wants;
  }

  /** Whether the bytes were not a JSON object or an array of them (reading stopped). */
  get lost(): boolean {
    return this.#lost;
  }

  /** Forgets everything, for the next message (an event stream's next event). */
  reset(): void {
    this.#state = value;
    this.#frames = [];
    this.#current = undefined;
    this.#escaped = false;
    this.#skipDepth = 0;
    this.#skipInString = false;
    this.#parts = [];
    this.#partsBytes = 0;
    this.#lost = false;
  }

  feed(bytes: Buffer): void {
    const n = bytes.length;
    let i = 0;
    this.#captureFrom = 0;
    while (i < n) {
      switch (this.#state) {
        case skipping:
          i = this.#skip(bytes, i);
          continue;
        case string:
          i = this.#string(bytes, i);
          continue;
        case scalar: {
          while (i < n && !isDelimiter(bytes[i] as number)) i++;
          if (i < n) this.#endValue(bytes, i);
          continue;
        }
        case ended:
          return;
      }
      const c = bytes[i] as number;
      i++;
      if (isSpace(c)) continue;
      switch (this.#state) {
        case value:
          this.#valueStarts(i - 1, c);
          break;
        case key:
          if (c === 0x22) {
            this.#readingKey = true;
            this.#beginCapture(i - 1);
            this.#state = string;
          } else if (c === 0x7d) this.#close();
          else this.#lose();
          break;
        case colon:
          if (c === 0x3a) this.#state = value;
          else this.#lose();
          break;
        case after:
          if (c === 0x2c) this.#state = this.#frames.at(-1) === batch ? value : key;
          else if (c === 0x7d || c === 0x5d) this.#close();
          else this.#lose();
          break;
      }
    }
    const state = this.#state;
    if (state === string || (state === scalar && this.#slot !== noSlot))
      this.#keep(bytes, this.#captureFrom, n);
  }

  #valueStarts(i: number, c: number): void {
    const frames = this.#frames;
    const top = frames.at(-1);
    if (top === undefined || top === batch) {
      if (c === 0x7b) {
        frames.push(message);
        this.#current = {
          id: undefined,
          request: false,
          result: false,
          errorCode: undefined,
          isError: false,
        };
        this.#state = key;
      } else if (c === 0x5b && top === undefined) {
        frames.push(batch);
        this.#state = value;
      } else if (c === 0x5d && top === batch) this.#close();
      else this.#lose(); // a scalar, or a batch of scalars: not JSON-RPC
      return;
    }
    const slot = this.#slot;
    if (c === 0x7b && this.#object !== 0) {
      frames.push(this.#object);
      this.#state = key;
    } else if (c === 0x7b || c === 0x5b) {
      if (slot !== noSlot) this.#fill(slot, undefined); // an id or a code that is an object: none
      this.#skipDepth = 1;
      this.#state = skipping;
    } else if (slot === noSlot) {
      if (c === 0x22) {
        this.#skipInString = true;
        this.#state = skipping;
      } else this.#state = scalar;
    } else {
      this.#beginCapture(i);
      this.#state = c === 0x22 ? string : scalar;
    }
  }

  /** Inside a string that is read (a key, or a value kept): to its closing quote. */
  #string(bytes: Buffer, i: number): number {
    if (this.#escaped) {
      this.#escaped = false;
      i++;
      if (i >= bytes.length) return i;
    }
    const end = closingQuote(bytes, i);
    if (end < 0) {
      this.#escaped = endsInEscape(bytes, i);
      return bytes.length;
    }
    if (this.#readingKey) {
      this.#readingKey = false;
      this.#keyRead(bytes, end + 1);
    } else this.#endValue(bytes, end + 1);
    return end + 1;
  }

  /** Steps over a value nobody reads: only strings and brackets matter in it. */
  #skip(bytes: Buffer, i: number): number {
    const n = bytes.length;
    let depth = this.#skipDepth;
    while (i < n) {
      if (this.#skipInString) {
        if (this.#escaped) {
          this.#escaped = false;
          i++;
          continue;
        }
        const end = closingQuote(bytes, i);
        if (end < 0) {
          this.#escaped = endsInEscape(bytes, i);
          this.#skipDepth = depth;
          return n;
        }
        this.#skipInString = false;
        i = end + 1;
        if (depth === 0) break;
        continue;
      }
      const c = bytes[i];
      i++;
      if (c === 0x22) this.#skipInString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) break;
    }
    this.#skipDepth = depth;
    if (depth === 0 && !this.#skipInString) this.#state = after;
    return i;
  }

  /** A key ended at `end` (after its quote): what its value is to the scanner. */
  #keyRead(bytes: Buffer, end: number): void {
    this.#state = colon;
    this.#slot = noSlot;
    this.#object = 0;
    const names = keysOf.get(this.#frames.at(-1) as number);
    if (names === undefined) return;
    const from = this.#captureFrom + 1;
    const to = end - 1;
    let plain = this.#parts.length === 0 && !this.#overflow && to - from <= maxKeyBytes;
    for (let j = from; plain && j < to; j++) if (bytes[j] === 0x5c) plain = false;
    if (plain) {
      // the usual case: compared byte by byte, no string made
      for (const [name, slot, object] of names) {
        if (name.length === to - from && bytes.compare(name, 0, name.length, from, to) === 0) {
          this.#chose(slot, object);
          return;
        }
      }
      return;
    }
    // cut by a chunk, or written with escapes (`"\u0069d"` is `"id"` to JSON.parse, and so to the server)
    const text = this.#captured(bytes, end);
    const name = text === undefined ? undefined : decodeString(text);
    if (name === undefined) return;
    for (const [candidate, slot, object] of names) {
      if (candidate.toString("latin1") === name) {
        this.#chose(slot, object);
        return;
      }
    }
  }

  #chose(slot: number, object: number): void {
    const current = this.#current as ScannedMessage;
    if (object === result) {
      current.result = true;
      // without isError to read, and with the id seen (or not wanted), a lone answer is known here: the
      // rest of a result of megabytes is never read
      const lone = this.#frames.length === 1;
      if (lone && !this.#wants.isError && (!this.#wants.id || current.id !== undefined)) {
        this.#onMessage(current);
        this.#current = undefined;
        this.#state = ended;
        return;
      }
      if (!this.#wants.isError) return;
    } else if (object === error) current.errorCode = Number.NaN;
    else if (object === params && !this.#wants.progress) return;
    else if (slot === idSlot && !this.#wants.id) return;
    else if (slot === methodSlot) current.request = true;
    this.#slot = slot;
    this.#object = object;
  }

  /** A value ends at `end` in this chunk. */
  #endValue(bytes: Buffer, end: number): void {
    this.#state = after;
    if (this.#slot !== noSlot) this.#fill(this.#slot, this.#captured(bytes, end));
  }

  #fill(slot: number, text: string | undefined): void {
    this.#slot = noSlot;
    fillField(this.#current as ScannedMessage, slot, text);
  }

  /** An object or the batch closed. */
  #close(): void {
    const closed = this.#frames.pop();
    if (closed === message && this.#current !== undefined) {
      this.#onMessage(this.#current);
      this.#current = undefined;
    }
    this.#state = this.#frames.length === 0 ? ended : after;
  }

  #lose(): void {
    this.#lost = true;
    this.#state = ended;
  }

  #beginCapture(from: number): void {
    this.#captureFrom = from;
    this.#parts = [];
    this.#partsBytes = 0;
    this.#overflow = false;
  }

  /** Keeps `bytes[from, to)` of a value that goes on in the next chunk (a copy: sockets reuse chunks). */
  #keep(bytes: Buffer, from: number, to: number): void {
    const limit = this.#readingKey ? maxKeyBytes : maxCapturedBytes;
    if (this.#overflow) return;
    if (this.#partsBytes + to - from > limit) {
      this.#overflow = true;
      this.#parts = [];
      return;
    }
    this.#parts.push(Buffer.from(bytes.subarray(from, to)));
    this.#partsBytes += to - from;
  }

  /** The kept value, ending at `end` in this chunk; undefined when it was too long. */
  #captured(bytes: Buffer, end: number): string | undefined {
    const from = this.#captureFrom;
    if (this.#parts.length === 0 && !this.#overflow)
      return end - from > maxCapturedBytes ? undefined : bytes.toString("utf8", from, end);
    this.#keep(bytes, from, end);
    const parts = this.#parts;
    this.#parts = [];
    // joined before decoding: a character cut between chunks is whole again
    return this.#overflow ? undefined : Buffer.concat(parts).toString("utf8");
  }
}
