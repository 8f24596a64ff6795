import type { IncomingHttpHeaders } from "node:http";
import type { Upstream } from "../upstreams/Upstream.ts";
import { SessionSealer } from "./SessionSealer.ts";

/** A session as a client's token names it: its upstream and the upstream's own session id. */
export interface TokenSession {
  readonly upstream: Upstream;
  readonly sessionId: string;
}

const sessionHeader = "mcp-session-id";
/**
 * Tokens remembered, opened and sealed: a session sends the same token on each request, and an upstream
 * names the same session id on each response, while one AES-GCM operation costs ~15 µs (a cipher made
 * per call). A cache, not state: a replica that never saw a token opens it all the same.
 */
const cached = 4_096;

/**
 * Tokens longer than this are opened and sealed each time, not cached: the caches then hold at most
 * about 10 MB whatever the upstreams' session ids (an id over ~700 bytes is rare; each use costs ~20 µs).
 */
const cachedTokenChars = 1_000;

/** A Map that forgets its oldest entry past `cached` entries, and keeps no long token. */
class BoundedCache<V> extends Map<string, V> {
  override set(key: string, value: V): this {
    if (key.length > cachedTokenChars) return this;
    if (this.size >= cached && !this.has(key)) this.delete(this.keys().next().value as string);
    return super.set(key, value);
  }
}

/**
 * Stateless session routing (SPEC §6.1): the client never sees an upstream's `Mcp-Session-Id`, but a
 * token sealing the upstream and its id. A request's token is opened to find where its session lives;
 * a response's session id is sealed on its way out. Nothing is remembered: any replica with the same
 * keys routes the session, and so does a restarted proxy.
 */
export class SessionTokens {
  readonly #sealer: SessionSealer;
  readonly #byDigest = new Map<string, Upstream>();
  readonly #digests = new Map<Upstream, string>();
  readonly #opened = new BoundedCache<TokenSession>();
  /** Tokens by upstream digest and session id. */
  readonly #sealed = new BoundedCache<string>();

  /**
   * @throws {Error} when two upstream names share a digest (8 bytes of SHA-256: never by chance).
   */
  constructor(upstreams: readonly Upstream[], keys: readonly Buffer[]) {
    this.#sealer = new SessionSealer(keys);
    for (const upstream of upstreams) {
      const digest = SessionSealer.upstreamDigest(upstream.name);
      if (this.#byDigest.has(digest))
        throw new Error(`upstream names collide in session tokens: ${upstream.name}`);
      this.#byDigest.set(digest, upstream);
      this.#digests.set(upstream, digest);
    }
  }

  /** The session a client's token names, or undefined: forged, another fleet's, or a removed upstream's. */
  open(token: string): TokenSession | undefined {
    const known = this.#opened.get(token);
    if (known !== undefined) return known;
    const opened = this.#sealer.open(token);
    const upstream = opened === undefined ? undefined : this.#byDigest.get(opened.upstream);
    if (upstream === undefined || opened === undefined) return undefined;
    const session = { upstream, sessionId: opened.sessionId };
    this.#opened.set(token, session);
    return session;
  }

  /** `headers` for the client: an upstream session id sealed into a token (the same object when none). */
  sealed(headers: IncomingHttpHeaders, upstream: Upstream): IncomingHttpHeaders {
    const id = headers[sessionHeader];
    const digest = this.#digests.get(upstream);
    if (typeof id !== "string" || digest === undefined) return headers;
    const key = `${digest}:${id}`;
    let token = this.#sealed.get(key);
    if (token === undefined) {
      token = this.#sealer.seal(digest, id);
      this.#sealed.set(key, token);
      this.#opened.set(token, { upstream, sessionId: id });
    }
    return { ...headers, [sessionHeader]: token };
  }
}

/** The client's headers with its token replaced by the upstream's own session id, for sending on. */
export function withUpstreamSession(rawHeaders: readonly string[], sessionId: string): string[] {
  const out = [...rawHeaders];
  for (let i = 0; i < out.length; i += 2) {
    if ((out[i] as string).toLowerCase() === sessionHeader) out[i + 1] = sessionId;
  }
  return out;
}
