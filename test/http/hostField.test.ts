import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HostRule } from "../../src/edge/HostRule.ts";
import { hostFieldProblem, isHostSyntax, parseHost } from "../../src/http/HostField.ts";

const loopbackHosts = new HostRule(["localhost", "127.0.0.1", "[::1]"]);

describe("the Host field (RFC 9112 §3.2)", () => {
  it("finds more than one Host field line, whatever their case and values", () => {
    for (const raw of [
      ["Host", "localhost", "Host", "evil.example"],
      ["host", "localhost", "Accept", "*/*", "HOST", "localhost"],
      ["Host", "localhost:8080", "hoSt", "localhost:8080"],
    ]) {
      assert.equal(hostFieldProblem(raw), "duplicate", raw.join(" "));
    }
  });

  it("finds an invalid Host value: pct-encoded, non-ASCII, userinfo, a path, spaces, empty", () => {
    for (const host of [
      "loc%61lhost",
      "localhost%00",
      "loc\u00aalhost", // a URL parser maps ª to a
      "\uff4cocalhost", // fullwidth l
      "a@b",
      "localhost/x",
      "a b",
      "a, b", // what an intermediary joining two Host lines makes
      "",
      "[::1",
      "[v1.x]",
    ]) {
      assert.equal(hostFieldProblem(["Host", host]), "invalid", JSON.stringify(host));
    }
  });

  it("takes one valid Host, and leaves a missing one to node and the Host rule", () => {
    for (const host of [
      "localhost",
      "LOCALHOST:8080",
      "127.0.0.1:9",
      "[::1]:8080",
      "mcp.example.com",
      "xn--bcher-kva.example",
    ]) {
      assert.equal(
        hostFieldProblem(["Content-Type", "application/json", "Host", host, "Date", "x"]),
        undefined,
        host,
      );
    }
    assert.equal(hostFieldProblem(["Accept", "*/*"]), undefined);
    assert.equal(isHostSyntax("localhost:"), true, "port = *DIGIT (RFC 3986 §3.2.3)");
  });
});

describe("HostRule never decodes a Host into another name", () => {
  it("refuses pct-encoded and non-ASCII spellings of an allowed name", () => {
    for (const host of [
      "loc%61lhost",
      "LOC%61LHOST:8080",
      "%6cocalhost",
      "127.0.0.%31",
      "loc\u00aalhost",
      "\uff4cocalhost",
    ]) {
      assert.equal(parseHost(host), undefined, host);
      assert.equal(loopbackHosts.allows(host), false, host);
    }
    assert.equal(loopbackHosts.allows("localhost"), true);
  });

  it("refuses such an entry in allowed_hosts, saying how to write an international name", () => {
    assert.throws(() => new HostRule(["loc%61lhost"]), RangeError);
    assert.throws(() => new HostRule(["bücher.example"]), /xn-- form/);
    assert.doesNotThrow(() => new HostRule(["xn--bcher-kva.example"]));
  });
});
