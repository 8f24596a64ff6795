import { type HostName, parseHost, parseHostEntry } from "../http/HostField.ts";

/** Bounds the memo of answers: an attacker cycling `Host`s cannot grow it. */
const memoLimit = 256;

/**
 * Which `Host` headers a listener answers (SPEC §4.1, `allowed_hosts`): `"*"`, or a list of names, each
 * with an optional port (without one, any port). A request naming another host is a DNS rebinding
 * attempt — a page on `evil.example` whose name now points at 127.0.0.1 — and gets 403. Answers are
 * remembered per header value, so the usual request costs one Map lookup.
 */
export class HostRule {
  readonly #any: boolean;
  readonly #allowed: readonly HostName[];
  readonly #memo = new Map<string, boolean>();

  /** @throws {RangeError} for an entry that is not a host with an optional port. */
  constructor(entries: readonly string[]) {
    this.#any = entries.includes("*");
    this.#allowed = entries.filter((entry) => entry !== "*").map(parseHostEntry);
  }

  /** Whether a request with this `Host` header may be served. */
  allows(header: string | undefined): boolean {
    if (this.#any) return true;
    if (header === undefined) return false;
    const known = this.#memo.get(header);
    if (known !== undefined) return known;
    const answer = this.#judge(header);
    if (this.#memo.size >= memoLimit) this.#memo.clear();
    this.#memo.set(header, answer);
    return answer;
  }

  #judge(header: string): boolean {
    const host = parseHost(header);
    if (host === undefined) return false;
    return this.#allowed.some((a) => a.name === host.name && (a.port === undefined || a.port === host.port));
  }
}
