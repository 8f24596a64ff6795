import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** What a token says: which upstream (by the digest of its name) and that upstream's own session id. */
export interface SealedSession {
  /** The first 8 bytes of the SHA-256 of the upstream's name, as hex. */
  readonly upstream: string;
  readonly sessionId: string;
}

/** Marks a token of this format (and lets a later one be told apart). */
const prefix = "bw1.";
const ivBytes = 12;
const tagBytes = 16;
const upstreamBytes = 8;

/**
 * Seals an upstream's MCP session into the opaque token the client sees (SPEC §6.1): AES-256-GCM over
 * the upstream's name digest and its session id, under the first key; opened with any key (rotation).
 * Any replica holding the keys opens any replica's token: no session is kept in memory. A token that
 * was altered, made with another key, or is no token at all does not open. Tokens are visible ASCII
 * (`bw1.` and base64url without padding): 52 + ⌈4/3 × the id's bytes⌉ characters, 100 for a UUID.
 * Keys are used as they are: no derivation per request.
 */
export class SessionSealer {
  readonly #keys: readonly Buffer[];

  /** `keys`: 32 bytes each, the first sealing; none: one random key for this process. */
  constructor(keys: readonly Buffer[]) {
    for (const key of keys) if (key.length !== 32) throw new RangeError("a session key is 32 bytes");
    this.#keys = keys.length > 0 ? keys : [randomBytes(32)];
  }

  /** The digest that names `upstream` in a token. */
  static upstreamDigest(upstream: string): string {
    return createHash("sha256").update(upstream).digest().subarray(0, upstreamBytes).toString("hex");
  }

  seal(upstreamDigest: string, sessionId: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv("aes-256-gcm", this.#keys[0] as Buffer, iv);
    const sealed = Buffer.concat([
      cipher.update(Buffer.from(upstreamDigest, "hex")),
      cipher.update(sessionId, "utf8"),
      cipher.final(),
    ]);
    return prefix + Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url");
  }

  /**
   * What `token` says, or undefined when it does not open under any key. Only the spelling `seal` makes
   * opens (SPEC §6.1): node's base64url decoder also takes `+/`, padding and junk after the data, so
   * the text must encode back to itself. No length cap of its own: any token a replica seals, every
   * replica opens (the HTTP server's header limit bounds what a client can send).
   */
  open(token: string): SealedSession | undefined {
    if (!token.startsWith(prefix)) return undefined;
    const text = token.slice(prefix.length);
    const bytes = Buffer.from(text, "base64url");
    if (bytes.length < ivBytes + upstreamBytes + tagBytes || bytes.toString("base64url") !== text)
      return undefined;
    const iv = bytes.subarray(0, ivBytes);
    const tag = bytes.subarray(bytes.length - tagBytes);
    const sealed = bytes.subarray(ivBytes, bytes.length - tagBytes);
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, iv);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
        return {
          upstream: plain.subarray(0, upstreamBytes).toString("hex"),
          sessionId: plain.subarray(upstreamBytes).toString("utf8"),
        };
      } catch {
        // not this key's: the next may open it
      }
    }
    return undefined;
  }
}
