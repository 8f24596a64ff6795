import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { request } from "undici";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { rawRequest, statusOf } from "../support/rawHttp.ts";
import { echo, startUpstream, type TestUpstream } from "../support/upstream.ts";

/** Statuses the proxy may answer with here: the upstream's 200, the proxy's own 4xx. */
const allowed = new Set([200, 400, 403, 404, 408, 413, 431, 501]);

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const junk = fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\r\n/g, ""));
const method = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT"),
  },
  { weight: 1, arbitrary: token },
  { weight: 1, arbitrary: junk },
);
const target = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom("/api", "/api/", "/api/x?y=1", "/api/a/b.json", "/api/.well-known/x"),
  },
  { weight: 2, arbitrary: fc.constantFrom("/api/../secret", "/api/%2e%2e/x", "/api/..%2fx", "*", "/other") },
  { weight: 1, arbitrary: fc.constantFrom("http://127.0.0.1:1/api", "//evil/api", "api") },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom(
            "..",
            ".",
            "%2e",
            "%2f",
            "a",
            "x.y",
            "%00",
            "%ff",
            "..;",
            ".%00.",
            "..%3b",
            "%2e%2e;x",
          ),
          token,
        ),
        { maxLength: 6 },
      )
      // separators as WHATWG-URL upstreams read them: "/" and "\", raw or encoded
      .chain((parts) =>
        fc
          .array(fc.constantFrom("/", "\\", "%5c", "%2f"), {
            minLength: parts.length,
            maxLength: parts.length,
          })
          .map((separators) => `/api${parts.map((part, i) => `${separators[i]}${part}`).join("")}`),
      ),
  },
  { weight: 1, arbitrary: junk },
);
const header = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(token, fc.stringMatching(/^[ -~]{0,30}$/)) },
  { weight: 1, arbitrary: fc.tuple(junk, junk) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<[string, string]>(
      ["Content-Length", "5"],
      ["Content-Length", "-1"],
      ["Content-Length", "99999999999999999999"],
      ["Transfer-Encoding", "chunked"],
      ["Transfer-Encoding", "chunked, gzip"],
      ["Connection", "upgrade, x-hop"],
      ["Upgrade", "websocket"],
      ["Expect", "100-continue"],
      ["Host", "evil.example"],
    ),
  },
);
const requestBytes = fc
  .record({
    method,
    target,
    version: fc.oneof(
      { weight: 4, arbitrary: fc.constant("HTTP/1.1") },
      fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/1.1x"),
    ),
    headers: fc.array(header, { maxLength: 6 }),
    body: fc.string({ unit: "binary", maxLength: 60 }),
    // mostly a body framed by a correct Content-Length; sometimes raw bytes after the headers
    framing: fc.constantFrom("content-length", "content-length", "content-length", "none"),
  })
  .map(({ method, target, version, headers, body, framing }) => {
    const length =
      framing === "content-length" && body !== ""
        ? `Content-Length: ${Buffer.byteLength(body, "latin1")}\r\n`
        : "";
    const lines = headers.map(([n, v]) => `${n}: ${v}\r\n`).join("");
    return `${method} ${target} ${version}\r\nHost: localhost\r\n${lines}${length}Connection: close\r\n\r\n${body}`;
  });

describe("fuzzing the request path with raw requests", () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startUpstream(echo("u"));
    proxy = await startProxy(
      `[server]\nroute = "/api"\nmax_body_bytes = 100\n${upstreamsToml([{ name: "u", url: `${upstream.url}/base` }])}`,
    );
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("answers every request with a sane status or a closed connection, never leaks outside the upstream's base path, and keeps serving", async () => {
    const statuses = new Map<number | undefined, number>();
    await fc.assert(
      fc.asyncProperty(requestBytes, async (bytes) => {
        const status = statusOf(await rawRequest(proxy.url, Buffer.from(bytes, "latin1"), 3_000));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.ok(
          status === undefined || allowed.has(status),
          `status ${status} for ${JSON.stringify(bytes)}`,
        );
      }),
      { numRuns: 300 },
    );
    // both roads were taken: requests that reached the upstream, and requests the proxy refused
    const counts = JSON.stringify([...statuses]);
    assert.ok((statuses.get(200) ?? 0) > 10 && (statuses.get(400) ?? 0) > 10, counts);
    process.stdout.write(`# statuses ${counts}\n`);
    for (const seen of upstream.seen) {
      assert.ok(
        seen.url === "/base" || seen.url.startsWith("/base/") || seen.url.startsWith("/base?"),
        seen.url,
      );
      // no dot segment as any upstream might resolve one: "\\" for "/", path parameters, encoded NUL
      const path = (seen.url.split("?")[0] ?? "").replace(/%00/gi, "");
      assert.doesNotMatch(path, /(^|[/\\]|%2f|%5c)(\.|%2e){1,2}([/\\;]|%2f|%5c|%3b|$)/i, seen.url);
    }
    const still = await request(`${proxy.url}/api`);
    assert.equal(still.statusCode, 200, "the proxy survived the run");
    await still.body.text();
  });
});
