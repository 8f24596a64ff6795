import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";

const api = { name: "api" } as Upstream;

/** Two replicas' session tokens: the same keys, nothing else shared (no cache in common). */
function replicas() {
  const keys = [randomBytes(32)];
  return [new SessionTokens([api], keys), new SessionTokens([api], keys)] as const;
}

/** The token `tokens` gives a client for the upstream session `id`. */
function tokenFor(tokens: SessionTokens, id: string): string {
  return tokens.sealed({ "mcp-session-id": id }, api)["mcp-session-id"] as string;
}

describe("SessionTokens across replicas (SPEC §6.1)", () => {
  it("opens a token sealed on another replica, in the one spelling it was sealed in", () => {
    const [one, two] = replicas();
    const id = randomUUID();
    const token = tokenFor(one, id);
    assert.deepEqual(two.open(token), { upstream: api, sessionId: id });
  });

  it("does not open the standard-base64 spelling, padding or junk appended: an unknown session on every replica", () => {
    const [one, two] = replicas();
    // a session id whose token has `-` or `_` in it, and a length that base64 pads
    let id = randomUUID();
    let token = tokenFor(one, id);
    for (let i = 0; i < 1_000 && !(/[-_]/.test(token) && (token.length - 4) % 4 !== 0); i++) {
      id = `${randomUUID()}${"x".repeat(i % 3)}`;
      token = tokenFor(one, id);
    }
    const body = token.slice(4);
    const standard = `bw1.${Buffer.from(body, "base64url").toString("base64")}`;
    assert.notEqual(standard, token, "the standard spelling differs");
    for (const spelling of [standard, `${token}=`, `${token}==`, `${token}!`, `${token} `, `${token}.x`]) {
      for (const replica of [one, two]) assert.equal(replica.open(spelling), undefined, spelling);
    }
    assert.deepEqual(two.open(token), { upstream: api, sessionId: id }, "the canonical one still opens");
  });

  it("opens a token of a long upstream session id on every replica, not only where it is cached", () => {
    const [one, two] = replicas();
    for (const length of [700, 800, 4_000, 12_000]) {
      const id = "s".repeat(length);
      const token = tokenFor(one, id);
      assert.equal(token.length, 52 + Math.ceil((4 * length) / 3), "the length the README states");
      assert.deepEqual(one.open(token), { upstream: api, sessionId: id }, `sealing replica, ${length}`);
      assert.deepEqual(two.open(token), { upstream: api, sessionId: id }, `another replica, ${length}`);
    }
  });
});
