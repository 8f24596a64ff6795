import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toolFilterMatcher } from "../../src/config/toolGlobs.ts";

describe("a server's tools filter", () => {
  it("allows a tool that an include glob matches and no exclude glob does", () => {
    const allows = toolFilterMatcher(["get_*", "list_*", "search"], ["list_secrets", "*_admin"]);
    assert.deepEqual(
      [
        "get_me",
        "get_",
        "list_issues",
        "search",
        "list_secrets",
        "get_admin",
        "searches",
        "create_issue",
      ].map(allows),
      [true, true, true, true, false, false, false, false],
    );
  });

  it("includes every tool by default, and excludes none", () => {
    assert.deepEqual(["a", "x.y-z", ""].map(toolFilterMatcher(undefined, ["x*"])), [true, false, true]);
    assert.deepEqual(["a", "delete_repo"].map(toolFilterMatcher()), [true, true]);
  });

  it("reads * as any run of characters, ? as one, and every other character as itself", () => {
    const allows = toolFilterMatcher(["v?.get-*"]);
    assert.deepEqual(
      ["v1.get-x", "v2.get-", "vx.get-a/b", "v12.get-x", "v1Xget-x", "v1.get_x", "V1.get-x", "v😀.get-x"].map(
        allows,
      ),
      [true, true, true, false, false, false, false, true],
    );
    assert.equal(toolFilterMatcher(["*"])("line\nbreak"), true, "* spans a line break too");
  });

  it("matches whole names only", () => {
    const allows = toolFilterMatcher(["get"]);
    assert.deepEqual(["get", "get_me", "forget"].map(allows), [true, false, false]);
  });
});
