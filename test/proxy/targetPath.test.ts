import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { routeRemainder, targetPath } from "../../src/http/targetPath.ts";

/** [route, upstream URL path, request target, expected upstream target] — the README shows these. */
const examples: [string, string, string, string][] = [
  ["/mcp", "/mcp", "/mcp", "/mcp"],
  ["/mcp", "/mcp", "/mcp/x", "/mcp/x"],
  ["/mcp", "/mcp", "/mcp?session=1", "/mcp?session=1"],
  ["/mcp", "/mcp", "/mcp/", "/mcp/"],
  ["/", "/", "/", "/"],
  ["/", "/", "/a/b?c=d", "/a/b?c=d"],
  ["/", "/mcp", "/", "/mcp"],
  ["/", "/mcp", "/x", "/mcp/x"],
  ["/api", "/v1/", "/api/users", "/v1/users"],
  ["/api/", "/v1", "/api/users", "/v1/users"],
  ["/mcp", "/", "/mcp/tools?x", "/tools?x"],
  ["/mcp", "/", "/mcp", "/"],
];

describe("the route → upstream path rule (nginx proxy_pass with a URI)", () => {
  for (const [route, base, target, expected] of examples) {
    it(`route ${route} + upstream path ${base}: ${target} → ${expected}`, () => {
      const remainder = routeRemainder(route, target);
      assert.notEqual(remainder, undefined);
      assert.equal(targetPath(base, remainder as string), expected);
    });
  }

  it("serves a route only at a segment boundary", () => {
    assert.equal(routeRemainder("/mcp", "/mcpx"), undefined);
    assert.equal(routeRemainder("/mcp", "/other"), undefined);
    assert.equal(routeRemainder("/api/", "/api"), undefined);
    assert.equal(routeRemainder("/", "/anything"), "anything");
  });
});
