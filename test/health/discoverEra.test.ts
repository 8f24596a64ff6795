import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { discoverEra } from "../../src/health/discoverEra.ts";

const error = (code: number, data?: unknown) => ({ error: { code, message: "m", data } });

describe("the era an answer to server/discover shows (SPEC §8.2)", () => {
  it("a result is a modern server's", () => {
    assert.equal(discoverEra(200, { result: { supportedVersions: ["2026-07-28"] } }), "modern");
  });

  it("-32601, or a 400 or 404 without a modern error, is an earlier-era server's", () => {
    assert.equal(discoverEra(200, error(-32601)), "earlier");
    assert.equal(discoverEra(404, error(-32601)), "earlier");
    assert.equal(discoverEra(400, error(-32000)), "earlier");
    assert.equal(discoverEra(404, error(-32001)), "earlier");
    assert.equal(discoverEra(400, undefined), "earlier", "an empty or unreadable body");
  });

  it("a modern error is a modern server's; a -32022 naming only earlier revisions (or none) is not", () => {
    assert.equal(discoverEra(400, error(-32020)), "modern");
    assert.equal(discoverEra(400, error(-32021)), "modern");
    assert.equal(
      discoverEra(400, error(-32022, { supported: ["2027-03-01"], requested: "2026-07-28" })),
      "modern",
    );
    assert.equal(discoverEra(400, error(-32022, { supported: ["2025-11-25", "2025-06-18"] })), "earlier");
    assert.equal(discoverEra(400, error(-32022)), "earlier");
  });

  it("a server error, a refusal to say (401, 403, 429) or another error on a 200 tells no era", () => {
    assert.equal(discoverEra(500, error(-32601)), undefined);
    assert.equal(discoverEra(503, undefined), undefined);
    assert.equal(discoverEra(401, undefined), undefined);
    assert.equal(discoverEra(403, error(-32000)), undefined);
    assert.equal(discoverEra(429, undefined), undefined);
    assert.equal(discoverEra(200, error(-32603)), undefined);
  });
});
