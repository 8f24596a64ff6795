/** What a framer does with a line longer than its bound: keep its start (cut), or nothing of it (drop). */
export type TooLong = "cut" | "drop";

export interface LineFramerOptions {
  /** Bytes of one line kept at most, its newline not counted. */
  readonly maxLineBytes: number;
  /** `cut`: a long line is passed on as its first `maxLineBytes` bytes; `drop`: not at all. */
  readonly tooLong: TooLong;
  /** Each line, without its newline; `cutBytes` is how many bytes past the bound were thrown away. */
  readonly onLine: (line: Buffer, cutBytes: number) => void;
  /** Told once per line, the moment it passes the bound (it may never end). */
  readonly onTooLong?: () => void;
}

const newline = 0x0a;

/**
 * Splits a byte stream into newline-terminated lines (the stdio transport of MCP: one JSON-RPC message
 * per line), holding at most `maxLineBytes` of any line: past the bound, the rest of the line is counted
 * and thrown away as it streams. The unfinished line is kept as a list of chunks and only each new
 * chunk is searched for a newline, so a line arriving in many small chunks costs linear time, not the
 * quadratic time of concatenating it again for each chunk.
 */
export class LineFramer {
  readonly #o: LineFramerOptions;
  /** The kept bytes of the unfinished line, chunk by chunk. */
  #chunks: Buffer[] = [];
  #kept = 0;
  /** Bytes of the unfinished line past the bound, thrown away. */
  #cut = 0;

  constructor(options: LineFramerOptions) {
    if (!(options.maxLineBytes >= 1)) throw new RangeError(`maxLineBytes: ${options.maxLineBytes}`);
    this.#o = options;
  }

  /** Feeds the stream's next bytes. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(newline, start);
      if (end === -1) {
        this.#keep(chunk.subarray(start));
        return;
      }
      this.#keep(chunk.subarray(start, end));
      this.#lineDone();
      start = end + 1;
    }
  }

  /** The stream ended: an unfinished last line is passed on as it is. */
  end(): void {
    if (this.#kept > 0 || this.#cut > 0) this.#lineDone();
  }

  #keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.#cut > 0) {
      this.#cut += bytes.length; // the line is past its bound already
      return;
    }
    const room = this.#o.maxLineBytes - this.#kept;
    if (bytes.length <= room) {
      this.#chunks.push(bytes);
      this.#kept += bytes.length;
      return;
    }
    if (this.#o.tooLong === "cut") {
      this.#chunks.push(bytes.subarray(0, room));
      this.#kept += room;
      this.#cut = bytes.length - room;
    } else {
      this.#cut = this.#kept + bytes.length;
      this.#chunks = [];
      this.#kept = 0;
    }
    this.#o.onTooLong?.();
  }

  #lineDone(): void {
    const cut = this.#cut;
    const line = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#kept = 0;
    this.#cut = 0;
    if (cut > 0 && this.#o.tooLong === "drop") return;
    this.#o.onLine(line, cut);
  }
}
