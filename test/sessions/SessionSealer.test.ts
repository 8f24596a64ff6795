import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { parseSessionKey } from "../../src/config/sessionKey.ts";
import { SessionSealer } from "../../src/sessions/SessionSealer.ts";

const digest = SessionSealer.upstreamDigest("primary");

describe("SessionSealer", () => {
  it("seals an upstream's session into a visible-ASCII token of at most 200 characters, and opens it", () => {
    const sealer = new SessionSealer([randomBytes(32)]);
    const id = randomUUID();
    const token = sealer.seal(digest, id);
    assert.match(token, /^[\x21-\x7e]+$/);
    assert.ok(token.length <= 200, `${token.length} characters`);
    assert.ok(!token.includes(id), "the upstream's id is not visible");
    assert.deepEqual(sealer.open(token), { upstream: digest, sessionId: id });
    assert.notEqual(sealer.seal(digest, id), token, "a fresh IV each time");
  });

  it("opens with any key and seals with the first (rotation); another fleet's tokens do not open", () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const before = new SessionSealer([oldKey]).seal(digest, "s-1");
    const rotated = new SessionSealer([newKey, oldKey]);
    assert.deepEqual(rotated.open(before), { upstream: digest, sessionId: "s-1" });
    assert.equal(new SessionSealer([oldKey]).open(rotated.seal(digest, "s-2")), undefined);
    assert.equal(new SessionSealer([randomBytes(32)]).open(before), undefined);
  });

  it("does not open an altered token, a raw session id, or junk", () => {
    const sealer = new SessionSealer([]);
    const token = sealer.seal(digest, "s-1");
    const flipped = `${token.slice(0, -2)}${token.at(-2) === "A" ? "B" : "A"}${token.at(-1)}`;
    for (const bad of [flipped, "s-1", "bw1.", "bw1.!!!", `bw1.${"A".repeat(2_000)}`, ""]) {
      assert.equal(sealer.open(bad), undefined, bad.slice(0, 40));
    }
  });

  it("reads keys in base64 or hex, and refuses any other length or form", () => {
    const key = randomBytes(32);
    assert.deepEqual(parseSessionKey(key.toString("base64")), key);
    assert.deepEqual(parseSessionKey(key.toString("hex")), key);
    for (const bad of [randomBytes(16).toString("base64"), "not a key", `${key.toString("hex")}00`]) {
      assert.throws(() => parseSessionKey(bad), /32 bytes in base64/);
    }
  });
});
