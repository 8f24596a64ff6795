import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { rawRequest } from "../support/rawHttp.ts";
import { echo, startUpstream, type TestUpstream } from "../support/upstream.ts";

describe("forwarding", () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startUpstream(echo("a"));
    proxy = await startProxy(
      `[server]\nroute = "/mcp"\nmax_body_bytes = 1024\nallowed_hosts = ["127.0.0.1", "localhost", "public.example"]\n${upstreamsToml([{ name: "a", url: `${upstream.url}/mcp` }])}`,
    );
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("forwards method, path, query and body, mapped onto the upstream URL", async () => {
    const res = await request(`${proxy.url}/mcp/tools/x?y=1`, { method: "PUT", body: "hello" });
    const seen = (await res.body.json()) as { method: string; url: string; body: string };
    assert.equal(res.statusCode, 200);
    assert.deepEqual([seen.method, seen.url, seen.body], ["PUT", "/mcp/tools/x?y=1", "hello"]);
  });

  it("drops hop-by-hop request headers, including those named in Connection", async () => {
    const reply = await rawRequest(
      proxy.url,
      "GET /mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close, x-hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n" +
        "TE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End: 2\r\n\r\n",
    );
    assert.match(reply, /^HTTP\/1.1 200 /);
    const seen = upstream.seen.at(-1) as { headers: Record<string, string | undefined> };
    assert.equal(seen.headers["x-hop"], undefined);
    assert.equal(seen.headers["keep-alive"], undefined);
    assert.equal(seen.headers["te"], undefined);
    assert.equal(seen.headers["proxy-connection"], undefined);
    assert.equal(seen.headers["upgrade"], undefined);
    assert.equal(seen.headers["x-end"], "2");
  });

  it("sets X-Forwarded-For (appending), -Proto and -Host, and sends the upstream's own Host", async () => {
    const res = await request(`${proxy.url}/mcp`, {
      headers: { "x-forwarded-for": "10.0.0.9", host: "public.example" },
    });
    const seen = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers["x-forwarded-for"], "10.0.0.9, 127.0.0.1");
    assert.equal(seen.headers["x-forwarded-proto"], "http");
    assert.equal(seen.headers["x-forwarded-host"], "public.example");
    assert.equal(seen.headers["host"], `127.0.0.1:${upstream.port}`);
  });

  it("drops hop-by-hop response headers and passes the others through", async () => {
    upstream.behave((_req, res) => {
      res.setHeader("connection", "x-private");
      res.setHeader("x-private", "1");
      res.setHeader("x-public", "2");
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.end("ok");
    });
    try {
      const res = await request(`${proxy.url}/mcp`);
      await res.body.text();
      assert.equal(res.headers["x-private"], undefined);
      assert.equal(res.headers["x-public"], "2");
      assert.deepEqual(res.headers["set-cookie"], ["a=1", "b=2"]);
    } finally {
      upstream.behave(echo("a"));
    }
  });

  it("answers a client's Expect: 100-continue itself and forwards the body without it", async () => {
    const reply = await rawRequest(
      proxy.url,
      "POST /mcp HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert.match(reply, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200 /);
    const seen = upstream.seen.at(-1);
    assert.deepEqual([seen?.body, seen?.headers["expect"]], ["hello", undefined]);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.metrics().failedRequests, 0);
  });

  it("answers 404 outside the route, without reaching the upstream", async () => {
    const before = upstream.seen.length;
    const res = await request(`${proxy.url}/other`);
    assert.equal(res.statusCode, 404);
    assert.match(((await res.body.json()) as { error: string }).error, /serves \/mcp/);
    assert.equal(upstream.seen.length, before);
  });

  it("answers 413 to a body over max_body_bytes, declared or streamed", async () => {
    const declared = await request(`${proxy.url}/mcp`, { method: "POST", body: "x".repeat(2_000) });
    assert.equal(declared.statusCode, 413);
    await declared.body.text();
    async function* chunks() {
      for (let i = 0; i < 4; i++) yield Buffer.alloc(400, "y");
    }
    const streamed = await request(`${proxy.url}/mcp`, { method: "POST", body: Readable.from(chunks()) });
    assert.equal(streamed.statusCode, 413);
    await streamed.body.text();
  });

  it("refuses an absolute-form request target: it is not an open proxy", async () => {
    const reply = await rawRequest(
      proxy.url,
      `GET http://127.0.0.1:${upstream.port}/mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1.1 400 /);
  });

  it("does not serve CONNECT: no tunnel is opened to anywhere", async () => {
    const before = upstream.seen.length;
    const reply = await rawRequest(
      proxy.url,
      `CONNECT 127.0.0.1:${upstream.port} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    );
    assert.doesNotMatch(reply, /^HTTP\/1.1 200/);
    assert.equal(upstream.seen.length, before);
  });

  it("answers 400 to a malformed request line instead of crashing", async () => {
    const reply = await rawRequest(proxy.url, "NOT A REQUEST\r\n\r\n");
    assert.match(reply, /^HTTP\/1.1 400 /);
    const still = await request(`${proxy.url}/mcp`);
    assert.equal(still.statusCode, 200);
    await still.body.text();
  });
});
