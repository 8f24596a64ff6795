import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/** base64url of an HMAC-SHA256: 32 bytes, 43 characters. */
const tagChars = 43;
/** A message longer than this is no fleet message (the longest, a tool's decision, is well under 1 KiB). */
export const maxSignedChars = 4_096;

/**
 * Authenticates what replicas tell each other through Redis (SPEC §6.2): anyone who can PUBLISH on the
 * fleet's channel or SET its keys could otherwise open, force open or reset every circuit of every
 * replica. Each message is `<tag>.<json>`, the tag an HMAC-SHA256 (RFC 2104) of the JSON under a key
 * derived with HKDF-SHA256 (RFC 5869) from a session key and the fleet's name — the keys the replicas
 * share already for session tokens, never the key itself, and a different key per fleet. Signed with
 * the first session key, checked with each (rotation, as for tokens). Replay of a message once sent is
 * not prevented: a copy says what a replica of the fleet once said.
 */
export class FleetSigner {
  readonly #keys: readonly Buffer[];

  /** `sessionKeys`: the fleet's session keys, the first signing (at least one). */
  constructor(sessionKeys: readonly Buffer[], fleetName: string) {
    if (sessionKeys.length === 0)
      throw new RangeError("fleet messages are signed with a session key: none given");
    const info = `breakwater fleet messages: ${fleetName}`;
    this.#keys = sessionKeys.map((key) => Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), info, 32)));
  }

  /** `text` as sent: its tag, a dot, and the text. */
  sign(text: string): string {
    return `${this.#tag(this.#keys[0] as Buffer, text)}.${text}`;
  }

  /** The text of a signed message, or undefined when no key's tag matches (or it is no signed message). */
  open(signed: string): string | undefined {
    if (signed.length > maxSignedChars || signed.charAt(tagChars) !== ".") return undefined;
    const tag = Buffer.from(signed.slice(0, tagChars), "utf8");
    const text = signed.slice(tagChars + 1);
    for (const key of this.#keys) {
      const expected = Buffer.from(this.#tag(key, text), "utf8");
      if (tag.length === expected.length && timingSafeEqual(tag, expected)) return text;
    }
    return undefined;
  }

  #tag(key: Buffer, text: string): string {
    return createHmac("sha256", key).update(text, "utf8").digest("base64url");
  }
}
