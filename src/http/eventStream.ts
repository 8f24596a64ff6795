import type { IncomingHttpHeaders } from "node:http";

const lf = 0x0a;
const cr = 0x0d;

/** Whether a response is an event stream (`text/event-stream`, whatever its parameters). */
export function isEventStream(headers: IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  return typeof type === "string" && type.startsWith("text/event-stream");
}

/** Whether an event-stream chunk ends with a blank line (an event's end), in any of SSE's line endings. */
export function endsEvent(chunk: Buffer): boolean {
  const n = chunk.length;
  if (n < 2) return false;
  const last = chunk[n - 1];
  const before = chunk[n - 2];
  return (
    (last === lf && (before === lf || (before === cr && chunk[n - 3] === lf))) ||
    (last === cr && before === cr)
  );
}

/**
 * Finds where an event stream's events end, as it streams through (WHATWG HTML, "Interpreting an event
 * stream": lines end in CRLF, LF or CR; a blank line ends an event), keeping nothing but where the last
 * chunk left off. A CRLF's LF that comes after the blank line's CR belongs to the next piece; a reader
 * of the bytes in order sees the same stream.
 */
export class EventBoundaries {
  /** The last byte ended a line (or nothing came yet): a line ending now is a blank line. */
  #lineStart = true;
  /** The last byte was a CR: a LF right after it ends no second line. */
  #afterCr = false;

  /** The offsets in `chunk` just past each blank line, in order. */
  ends(chunk: Buffer): number[] {
    const ends: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.#afterCr) {
        this.#afterCr = false;
        if (c === lf) continue;
      }
      if (c !== lf && c !== cr) {
        this.#lineStart = false;
        continue;
      }
      this.#afterCr = c === cr;
      if (this.#lineStart) ends.push(i + 1);
      this.#lineStart = true;
    }
    return ends;
  }
}
