import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EdgeGuard } from "../../src/edge/EdgeGuard.ts";
import { HostRule } from "../../src/edge/HostRule.ts";
import { OriginRule } from "../../src/edge/OriginRule.ts";
import { parseHost } from "../../src/http/HostField.ts";

const loopbackHosts = new HostRule(["localhost", "127.0.0.1", "[::1]"]);

describe("HostRule (server.allowed_hosts)", () => {
  it("lets the loopback names through on any port, and nothing else", () => {
    for (const host of ["localhost", "localhost:8080", "LOCALHOST:1", "127.0.0.1:9", "[::1]:8080", "[::1]"]) {
      assert.equal(loopbackHosts.allows(host), true, host);
    }
    for (const host of [
      "evil.example.com",
      "evil.example.com:8080",
      "127.0.0.2",
      "localhost.evil",
      "0.0.0.0",
    ]) {
      assert.equal(loopbackHosts.allows(host), false, host);
    }
  });

  it("refuses a missing or malformed Host without throwing", () => {
    for (const host of [
      undefined,
      "",
      "a b",
      "user@localhost",
      "localhost/x",
      "[::1",
      "localhost:99999",
      "\\\\x",
    ]) {
      assert.equal(loopbackHosts.allows(host), false, String(host));
    }
  });

  it("matches an entry with a port on that port only", () => {
    const rule = new HostRule(["api.example.com:8443", "internal"]);
    assert.equal(rule.allows("api.example.com:8443"), true);
    assert.equal(rule.allows("api.example.com:443"), false);
    assert.equal(rule.allows("api.example.com"), false);
    assert.equal(rule.allows("internal:1234"), true);
  });

  it("lets every Host through with *", () => {
    assert.equal(new HostRule(["*"]).allows("anything.example"), true);
  });

  it("refuses an entry that is not a host with an optional port", () => {
    assert.throws(() => new HostRule(["https://api.example.com"]), RangeError);
    assert.throws(() => new HostRule(["a b"]), RangeError);
  });

  it("keeps answering the same after more distinct Hosts than it remembers", () => {
    for (let i = 0; i < 1_000; i++) assert.equal(loopbackHosts.allows(`h${i}.example`), false);
    assert.equal(loopbackHosts.allows("localhost:1"), true);
  });

  it("reads a default port written out as the port it is", () => {
    assert.deepEqual(parseHost("example.com:80"), { name: "example.com", port: "80" });
    assert.deepEqual(parseHost("Example.COM"), { name: "example.com", port: undefined });
    assert.deepEqual(parseHost("[::1]:8080"), { name: "[::1]", port: "8080" });
  });
});

describe("OriginRule (server.allowed_origins)", () => {
  const onLoopback = new OriginRule([], { loopbackListener: true });
  const public_ = new OriginRule(["https://app.example.com"], { loopbackListener: false });

  it("lets a listed origin through", () => {
    assert.equal(public_.allows("https://app.example.com", "proxy.example.com"), true);
    assert.equal(public_.allows("http://app.example.com", "proxy.example.com"), false, "another scheme");
  });

  it("lets the request's own host and port through, default ports included", () => {
    assert.equal(public_.allows("http://proxy.example.com", "proxy.example.com"), true);
    assert.equal(public_.allows("http://proxy.example.com:80", "proxy.example.com:80"), true);
    assert.equal(public_.allows("http://proxy.example.com:8080", "proxy.example.com"), false);
  });

  it("lets loopback origins through on a loopback listener only", () => {
    assert.equal(onLoopback.allows("http://localhost:3000", "127.0.0.1:8080"), true);
    assert.equal(onLoopback.allows("http://127.0.0.1:5173", "127.0.0.1:8080"), true);
    assert.equal(onLoopback.allows("http://[::1]:5173", "127.0.0.1:8080"), true);
    assert.equal(public_.allows("http://localhost:3000", "proxy.example.com"), false);
  });

  it("refuses foreign, null and malformed origins without throwing", () => {
    for (const origin of [
      "http://evil.example.com",
      "null",
      "",
      "not a url",
      "file:///etc/passwd",
      "http://",
    ]) {
      assert.equal(onLoopback.allows(origin, "127.0.0.1:8080"), false, origin);
    }
  });

  it("lets everything through with *", () => {
    assert.equal(new OriginRule(["*"], { loopbackListener: false }).allows("null", undefined), true);
  });

  it("keeps answering the same after more distinct origins than it remembers", () => {
    for (let i = 0; i < 1_000; i++)
      assert.equal(onLoopback.allows(`http://h${i}.example`, "127.0.0.1:1"), false);
    assert.equal(onLoopback.allows("http://localhost:3000", "127.0.0.1:1"), true);
    assert.equal(onLoopback.allows("http://localhost:3000", "127.0.0.1:1"), true, "remembered");
  });

  it("refuses an entry that is not an origin", () => {
    assert.throws(
      () => new OriginRule(["https://app.example.com/path"], { loopbackListener: false }),
      RangeError,
    );
    assert.throws(() => new OriginRule(["app.example.com"], { loopbackListener: false }), RangeError);
  });
});

describe("EdgeGuard", () => {
  const guard = new EdgeGuard(loopbackHosts, new OriginRule([], { loopbackListener: true }));

  it("checks the Host first, then the Origin of requests that carry one", () => {
    assert.equal(
      guard.refusal({ host: "evil.example.com", origin: "http://evil.example.com" }),
      "forbidden_host",
    );
    assert.equal(
      guard.refusal({ host: "127.0.0.1:8080", origin: "http://evil.example.com" }),
      "forbidden_origin",
    );
    assert.equal(guard.refusal({ host: "127.0.0.1:8080", origin: "http://127.0.0.1:8080" }), undefined);
    assert.equal(guard.refusal({ host: "127.0.0.1:8080" }), undefined, "not a browser: no Origin to check");
  });
});
