import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasCredentials, redactUrl } from "../../src/config/redactUrl.ts";

describe("redactUrl", () => {
  it("shows a password as ***, keeping the user name beside it", () => {
    assert.equal(redactUrl("redis://app:s3cret@10.0.0.5:6379/2"), "redis://app:***@10.0.0.5:6379/2");
    assert.equal(redactUrl(new URL("rediss://:s3cret@h:6380")), "rediss://:***@h:6380");
  });

  it("hides a user name that stands alone, for it is then the secret", () => {
    assert.equal(redactUrl("https://ghp_s3cret@mcp.example.com/mcp"), "https://***@mcp.example.com/mcp");
  });

  it("leaves a URL without credentials as it is", () => {
    assert.equal(redactUrl("http://127.0.0.1:3000/mcp"), "http://127.0.0.1:3000/mcp");
  });

  it("tells a URL with credentials from one without, and from text that is no URL", () => {
    assert.deepEqual(
      ["http://a:b@h/", "http://a@h/", "http://:b@h/", "http://h/", "not a url", "a:b@h"].map(hasCredentials),
      [true, true, true, false, false, false],
    );
  });
});
