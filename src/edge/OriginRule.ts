import { parseHost } from "../http/HostField.ts";
import { isLoopback } from "../http/listenAddress.ts";
import { parseOriginEntry } from "../http/originEntry.ts";

const defaultPorts: Record<string, string> = { "http:": "80", "https:": "443" };
/** Bounds the memo of answers: an attacker cycling origins cannot grow it. */
const memoLimit = 256;

/**
 * Which browser origins may send requests through the proxy (SPEC §4.1, `allowed_origins`): a request
 * carrying `Origin` is served only when that origin is listed (or the list has `"*"`), or names the same
 * host and port as the request's `Host`, or the listener is loopback and the origin is a loopback name.
 * A request without `Origin` does not come from a browser page and is not affected. This is the MCP
 * transport's "servers MUST validate the Origin header", done at the edge for every upstream.
 */
export class OriginRule {
  readonly #any: boolean;
  readonly #listed: ReadonlySet<string>;
  readonly #loopbackListener: boolean;
  /** The port a `Host` without one stands for: the listener's scheme's default. */
  readonly #defaultPort: string;
  /** Answers per `Origin` and `Host` pair: a browser app sends the same pair on every request. */
  readonly #memo = new Map<string, boolean>();

  /** @throws {RangeError} for an entry that is not an http(s) origin. */
  constructor(entries: readonly string[], options: { loopbackListener: boolean; https?: boolean }) {
    this.#any = entries.includes("*");
    this.#listed = new Set(entries.filter((entry) => entry !== "*").map(parseOriginEntry));
    this.#loopbackListener = options.loopbackListener;
    this.#defaultPort = options.https ? "443" : "80";
  }

  /** Whether a request with this `Origin` (and this `Host`) may be served. */
  allows(origin: string, host: string | undefined): boolean {
    if (this.#any) return true;
    const key = `${origin}\n${host}`; // no header value holds a line feed
    const known = this.#memo.get(key);
    if (known !== undefined) return known;
    const answer = this.#judge(origin, host);
    if (this.#memo.size >= memoLimit) this.#memo.clear();
    this.#memo.set(key, answer);
    return answer;
  }

  #judge(origin: string, host: string | undefined): boolean {
    const url = URL.parse(origin); // "null" (sandboxed frames, file pages) does not parse: refused
    if (url === null || !(url.protocol in defaultPorts)) return false;
    if (this.#listed.has(url.origin)) return true;
    const port = url.port || (defaultPorts[url.protocol] as string);
    const target = host === undefined ? undefined : parseHost(host);
    if (target !== undefined && target.name === url.hostname && (target.port ?? this.#defaultPort) === port) {
      return true;
    }
    return this.#loopbackListener && isLoopback(url.hostname.replace(/^\[(.*)\]$/, "$1"));
  }
}
