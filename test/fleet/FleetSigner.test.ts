import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { FleetSigner, maxSignedChars } from "../../src/fleet/FleetSigner.ts";

const text = JSON.stringify({ kind: "forced_open", upstream: "api", from: "a" });

describe("FleetSigner: fleet messages authenticated with the session keys", () => {
  it("opens what a replica with the same keys signed, and signs with the first key, opening with any", () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const before = new FleetSigner([oldKey], "fleet").sign(text);
    const rotated = new FleetSigner([newKey, oldKey], "fleet");
    assert.equal(rotated.open(before), text);
    assert.equal(new FleetSigner([oldKey], "fleet").open(rotated.sign(text)), undefined);
    assert.equal(new FleetSigner([newKey], "fleet").open(rotated.sign(text)), text);
  });

  it("opens nothing altered, unsigned, another fleet's, signed with the session key itself, or too long", () => {
    const key = randomBytes(32);
    const signer = new FleetSigner([key], "fleet");
    const signed = signer.sign(text);
    const tag = signed.slice(0, 43);
    const withRawKey = `${Buffer.from(createHmac("sha256", key).update(text).digest()).toString(
      "base64url",
    )}.${text}`;
    for (const bad of [
      `${signed} `,
      `${tag}.${text.replace("forced_open", "disabled")}`,
      text,
      `é${signed.slice(1)}`,
      new FleetSigner([key], "another fleet").sign(text),
      withRawKey,
      signer.sign("x".repeat(maxSignedChars)),
      "",
    ]) {
      assert.equal(signer.open(bad), undefined, bad.slice(0, 60));
    }
  });

  it("refuses to be made without a key", () => {
    assert.throws(() => new FleetSigner([], "fleet"), RangeError);
  });
});
