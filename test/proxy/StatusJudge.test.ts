import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StatusJudge } from "../../src/judges/StatusJudge.ts";

const judge = new StatusJudge((status) => status >= 500 || status === 429);
const json = { "content-type": "application/json" };

describe("StatusJudge (SPEC §2)", () => {
  it("judges a failure status a failure at its head", () => {
    assert.equal(judge.head(503, json), "failure");
    assert.equal(judge.head(429, json), "failure");
  });

  it("judges any other status outside 2xx neutral at its head", () => {
    for (const status of [301, 400, 401, 404]) assert.equal(judge.head(status, json), "neutral");
  });

  it("waits for the whole body of a 2xx, which is a success once it has arrived", () => {
    assert.equal(judge.head(200, json), "pending");
    assert.equal(judge.data(), "pending");
    assert.equal(judge.end(), "success");
  });

  it("judges a 2xx event stream a success at its head: a standing stream has no end to wait for", () => {
    assert.equal(judge.head(200, { "content-type": "text/event-stream; charset=utf-8" }), "success");
  });
});
