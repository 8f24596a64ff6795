import type { IncomingHttpHeaders } from "node:http";

/**
 * What the client gets of an upstream's answer instead of the bytes themselves, for the few answers
 * the proxy must change (a server's `tools` filter over a `tools/list` answer, SPEC §7.1). It sits
 * after the judge, so the upstream is judged by what it sent, not by what the client sees. One per
 * attempt: it may hold state (a body held until it can be rewritten whole).
 */
export interface BodyFilter {
  /**
   * The head the client gets, told once the head has come (a filter that changes the body drops
   * `content-length`); `status` says whether there is anything to change (an error's body has none).
   */
  head(status: number, headers: IncomingHttpHeaders): IncomingHttpHeaders;
  /** What to write of a chunk now; undefined: nothing yet. */
  data(chunk: Buffer): Buffer | undefined;
  /** What is left to write when the upstream's body ends; undefined: nothing. */
  end(): Buffer | undefined;
  /** The exchange ended without `end` (cut, timed out, the client gone): let go of what is held. */
  close?(): void;
}
