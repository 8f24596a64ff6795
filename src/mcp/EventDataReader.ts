const lf = 0x0a;
const cr = 0x0d;
const space = 0x20;
const dataField = Buffer.from("data:");
const newline = Buffer.from("\n");

/**
 * Splits an event stream (WHATWG HTML, "Server-sent events": lines ended by CRLF, LF or CR; `data:`
 * fields; a blank line ends an event) into the data of its events, handed on as it arrives without
 * keeping any of it: each `data` line's value followed by a line feed (how the standard joins an
 * event's data lines), then `onEventEnd` at the blank line. All it keeps is the start of the current
 * line, up to the length of `data:`, to know the field; any other field and comments are passed over.
 */
export class EventDataReader {
  readonly #onData: (bytes: Buffer) => void;
  readonly #onEventEnd: () => void;
  /** Bytes of the current line so far (counted only up to the field name's length). */
  #lineLength = 0;
  /** The current line: its field is not known yet, it is a data line, or anything else. */
  #field: "unknown" | "data" | "other" = "unknown";
  /** A data line whose value has not started yet: a space right after `data:` is not part of it. */
  #valueStarts = false;
  #eventHasData = false;
  #afterCr = false;

  constructor(onData: (bytes: Buffer) => void, onEventEnd: () => void) {
    this.#onData = onData;
    this.#onEventEnd = onEventEnd;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#afterCr) {
        this.#afterCr = false;
        if (chunk[i] === lf) {
          i++; // CRLF: one line end
          continue;
        }
      }
      let end = i;
      while (end < chunk.length && chunk[end] !== lf && chunk[end] !== cr) end++;
      if (end > i) this.#lineBytes(chunk.subarray(i, end));
      if (end === chunk.length) return;
      this.#afterCr = chunk[end] === cr;
      this.#lineEnd();
      i = end + 1;
    }
  }

  #lineBytes(bytes: Buffer): void {
    let from = 0;
    while (this.#field === "unknown" && from < bytes.length) {
      if (bytes[from] !== dataField[this.#lineLength]) this.#field = "other";
      else if (++this.#lineLength === dataField.length) {
        this.#field = "data";
        this.#valueStarts = true;
      }
      from++;
    }
    if (this.#field !== "data" || from >= bytes.length) return;
    if (this.#valueStarts) {
      this.#valueStarts = false;
      if (bytes[from] === space) from++;
    }
    if (from < bytes.length) this.#onData(bytes.subarray(from));
  }

  #lineEnd(): void {
    const blank = this.#field === "unknown" && this.#lineLength === 0;
    // a line that is just "data" is a data field with an empty value
    const data = this.#field === "data" || (this.#field === "unknown" && this.#lineLength === 4);
    this.#field = "unknown";
    this.#lineLength = 0;
    this.#valueStarts = false;
    if (data) {
      this.#eventHasData = true;
      this.#onData(newline);
    } else if (blank) {
      if (this.#eventHasData) this.#onEventEnd();
      this.#eventHasData = false;
    }
  }
}
