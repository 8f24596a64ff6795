/** What an event stream's reader hands on. */
export interface EventStreamHandlers {
  /** Bytes of the current event's data, as they arrive: its `data` lines' values, joined by "\n". */
  readonly data: (bytes: Buffer) => void;
  /** The current event ended (a blank line) and had data: a client dispatches it now. */
  readonly event: () => void;
  /** The current event ended without data, or was never dispatched: what `data` got of it is void. */
  readonly discard: () => void;
  /**
   * The current event has an `id` field with a value (a resumable stream's event, MCP 2025-11-25
   * SEP-1699); told at the value's first byte. Without it, `id` fields are stepped over.
   */
  readonly id?: (() => void) | undefined;
}

const lf = 0x0a;
const cr = 0x0d;
const colon = 0x3a;
const space = 0x20;
const dataName = Buffer.from("data");
const idName = Buffer.from("id");
const newline = Buffer.from("\n");
const bom = [0xef, 0xbb, 0xbf];

// Where in a line the reader is.
const name = 0;
const dataValue = 1;
const otherValue = 2;
const idValue = 3;

/**
 * Reads an event stream as it streams through (WHATWG HTML, "Interpreting an event stream"), keeping
 * no line and no event: each `data` field's value goes to `handlers.data` as it arrives, the lines
 * of one event joined by "\n" as the standard joins them, and a blank line ends the event. Other
 * fields (`event`, `id`, `retry`, comments) are stepped over. Lines end in CRLF, LF or CR. So memory
 * stays constant whatever the length of a line or an event — where a parser that keeps the unfinished
 * line is crashed by one line of gigabytes.
 */
export class EventStreamReader {
  readonly #handlers: EventStreamHandlers;
  #state = name;
  /** Bytes of the field name read so far, while they are a prefix of `#field` ("data", or "id"). */
  #nameLength = 0;
  #field = dataName;
  /** The one space after a field's colon is not part of its value. */
  #afterColon = false;
  /** The last byte was a CR: a LF right after it ends no second line. */
  #afterCr = false;
  /** Data lines in the current event (the second and later are joined by "\n"). */
  #dataLines = 0;
  /** How many bytes of a leading byte order mark have been seen (it is skipped); -1 once past it. */
  #bomSeen = 0;

  constructor(handlers: EventStreamHandlers) {
    this.#handlers = handlers;
  }

  feed(chunk: Buffer): void {
    let i = this.#skipBom(chunk);
    const n = chunk.length;
    // the next line end at or after i: searched once per line, not once per byte
    let nextLf = -2;
    let nextCr = -2;
    while (i < n) {
      if (this.#afterCr) {
        this.#afterCr = false;
        if (chunk[i] === lf) {
          i++;
          continue;
        }
      }
      if (this.#state === name) {
        const c = chunk[i] as number;
        i++;
        if (c === lf || c === cr) {
          this.#afterCr = c === cr;
          this.#fieldWithoutValue();
        } else if (c === colon) {
          const field = this.#nameLength === this.#field.length ? this.#field : undefined;
          this.#state = field === dataName ? dataValue : field === idName ? idValue : otherValue;
          this.#afterColon = true;
          if (this.#state === dataValue) this.#dataLineStarts();
        } else if (this.#nameStep(c)) this.#nameLength++;
        else this.#state = otherValue; // no field that matters: the rest of the line is stepped over
        continue;
      }
      if (this.#afterColon) {
        this.#afterColon = false;
        if (chunk[i] === space) {
          i++;
          continue;
        }
      }
      if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(lf, i);
      if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(cr, i);
      const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      const stop = end === -1 ? n : end;
      if (this.#state === dataValue && stop > i) this.#handlers.data(chunk.subarray(i, stop));
      else if (this.#state === idValue && stop > i) {
        this.#state = otherValue; // told once: the value itself is not kept
        this.#handlers.id?.();
      }
      if (end === -1) return;
      this.#afterCr = chunk[end] === cr;
      this.#lineEnds();
      i = end + 1;
    }
  }

  /** The stream ended: an event it did not end is not dispatched (the standard drops it). */
  end(): void {
    if (this.#dataLines > 0) this.#handlers.discard();
    this.#dataLines = 0;
  }

  #dataLineStarts(): void {
    if (this.#dataLines++ > 0) this.#handlers.data(newline);
  }

  /** A line ended in the field name: a blank line ends the event; `data` alone is an empty data line. */
  #fieldWithoutValue(): void {
    if (this.#nameLength === 0) {
      const had = this.#dataLines > 0;
      this.#dataLines = 0;
      if (had) this.#handlers.event();
      return;
    }
    if (this.#field === dataName && this.#nameLength === dataName.length) this.#dataLineStarts();
    this.#lineEnds();
  }

  /** Whether `c` goes on the name of a field that matters (an `id` only when someone listens for it). */
  #nameStep(c: number): boolean {
    if (this.#nameLength === 0) {
      if (c === idName[0] && this.#handlers.id !== undefined) this.#field = idName;
      else this.#field = dataName;
    }
    return this.#nameLength < this.#field.length && this.#field[this.#nameLength] === c;
  }

  #lineEnds(): void {
    this.#state = name;
    this.#nameLength = 0;
    this.#afterColon = false;
  }

  #skipBom(chunk: Buffer): number {
    let i = 0;
    while (this.#bomSeen >= 0 && this.#bomSeen < bom.length && i < chunk.length) {
      if (chunk[i] !== bom[this.#bomSeen]) {
        if (this.#bomSeen > 0) this.#state = otherValue; // bytes of no field that matters
        this.#bomSeen = -1;
        return i;
      }
      this.#bomSeen++;
      i++;
    }
    if (this.#bomSeen === bom.length) this.#bomSeen = -1;
    return i;
  }
}
