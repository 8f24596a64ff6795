import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { ClientTokens, maxPayloadBytes } from "../../src/aggregate/ClientTokens.ts";
import type { ClientSession } from "../../src/aggregate/contracts.ts";
import { SessionSealer } from "../../src/sessions/SessionSealer.ts";
import { SessionTokens } from "../../src/sessions/SessionTokens.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";

const keys = [randomBytes(32)];
const params = {
  protocolVersion: "2025-06-18",
  capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
  clientInfo: { name: "claude-ish", version: "1.2.3" },
};

/** Client tokens on `with` keys, and the sessions their planner was told had ended. */
function replica(withKeys: readonly Buffer[] = keys): { tokens: ClientTokens; ended: ClientSession[] } {
  const ended: ClientSession[] = [];
  return { tokens: new ClientTokens({ keys: withKeys, hops: { ended: (s) => ended.push(s) } }), ended };
}

describe("aggregate client tokens", () => {
  it("a session begun on one replica opens on another with the same keys, its initialize params whole", () => {
    const { token, session } = replica().tokens.begin("2025-06-18", params);
    const opened = replica().tokens.open(token);
    assert.deepEqual(opened, session);
    assert.equal(opened?.protocolVersion, "2025-06-18");
    assert.deepEqual(opened?.initializeParams, {
      capabilities: params.capabilities,
      clientInfo: params.clientInfo,
    });
    assert.match(token, /^bw1\.[A-Za-z0-9_-]+$/);
  });

  it("opens after a key rotation that keeps the old key, and not under other keys", () => {
    const { token } = replica().tokens.begin("2025-06-18", params);
    assert.notEqual(replica([randomBytes(32), ...keys]).tokens.open(token), undefined);
    assert.equal(replica([randomBytes(32)]).tokens.open(token), undefined);
  });

  it("gives every session its own id, and refuses forged and altered tokens", () => {
    const { tokens } = replica();
    const a = tokens.begin("2025-06-18", params);
    const b = tokens.begin("2025-06-18", params);
    assert.notEqual(a.session.id, b.session.id);
    const altered = `${a.token.slice(0, -2)}${a.token.at(-2) === "A" ? "B" : "A"}${a.token.slice(-1)}`;
    for (const token of ["", "bw1.", "bw1.AAAA", "nonsense", altered])
      assert.equal(replica().tokens.open(token), undefined, token);
  });

  it("a route's session tokens do not open an aggregate token, and the aggregate does not open a route's", () => {
    const upstream = new FakeUpstream("notes-a");
    const routes = new SessionTokens([upstream], keys);
    const { token } = replica().tokens.begin("2025-06-18", params);
    assert.equal(routes.open(token), undefined);
    // an upstream chooses its own session ids: even one shaped like an aggregate payload stays a route's
    const lookalike = '0123456789abcdef{"v":"2025-06-18","c":{}}';
    const routeToken = routes.sealed({ "mcp-session-id": lookalike }, upstream)["mcp-session-id"];
    assert.equal(typeof routeToken, "string");
    assert.notEqual(routes.open(routeToken as string), undefined);
    assert.equal(replica().tokens.open(routeToken as string), undefined);
  });

  it("a token of the same keys that is not an aggregate payload does not open", () => {
    const sealer = new SessionSealer(keys);
    const digest = SessionSealer.upstreamDigest("\0aggregate");
    assert.equal(replica().tokens.open(sealer.seal(digest, "0123456789abcdefnot json")), undefined);
    assert.equal(replica().tokens.open(sealer.seal(digest, '0123456789abcdef{"v":1}')), undefined);
  });

  it("keeps only sampling, elicitation and roots of capabilities too big for a token", () => {
    const capabilities = { ...params.capabilities, experimental: { blob: "x".repeat(5_000) } };
    const { token, session } = replica().tokens.begin("2025-06-18", { ...params, capabilities });
    assert.deepEqual(session.initializeParams, {
      capabilities: params.capabilities,
      clientInfo: params.clientInfo,
    });
    assert.deepEqual(replica().tokens.open(token), session);
    assert.ok(token.length < ((maxPayloadBytes + 16 + 8 + 28) * 4) / 3 + 8, `token of ${token.length}`);
  });

  it("cuts a clientInfo too big for a token to its name and version, so no client makes a token grow", () => {
    const clientInfo = { name: "n".repeat(3_000), version: "v".repeat(3_000), extra: "e".repeat(3_000) };
    const sampling = { huge: "s".repeat(3_000) };
    const { token, session } = replica().tokens.begin("2025-06-18", {
      capabilities: { sampling, tools: {} },
      clientInfo,
    });
    assert.deepEqual(session.initializeParams["capabilities"], { sampling: {} });
    const info = session.initializeParams["clientInfo"] as { name: string; version: string };
    assert.ok(info.name.length > 0 && info.name.length <= 160);
    assert.ok(info.version.length > 0 && info.version.length <= 32);
    assert.deepEqual(replica().tokens.open(token), session);
    assert.ok(token.length < 3_000, `token of ${token.length}`);
  });

  it("an ended session is refused afterwards on this replica, and its upstream sessions are closed once", () => {
    const here = replica();
    const { token, session } = here.tokens.begin("2025-06-18", params);
    assert.notEqual(here.tokens.open(token), undefined);
    here.tokens.end(session);
    here.tokens.end(session);
    assert.equal(here.tokens.open(token), undefined);
    assert.deepEqual(here.ended, [session]);
    const other = replica();
    assert.equal(other.tokens.open(token)?.id, session.id, "ended on this replica only");
  });
});
