import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { PublicUrls } from "../../src/edge/PublicUrls.ts";
import { discoveryDocument, discoveryPath } from "../../src/http/discovery.ts";
import { RouteTable } from "../../src/proxy/RouteTable.ts";
import type { Upstream, UpstreamRequest } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { startProxy, upstreamsToml } from "../support/proxy.ts";
import { startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

describe("OAuth discovery paths outside the route (SPEC §4.2)", () => {
  const cases: [string, string, string, string | undefined][] = [
    // request target, route, upstream base path, path the upstream gets
    [
      "/.well-known/oauth-protected-resource/mcp",
      "/mcp",
      "/mcp",
      "/.well-known/oauth-protected-resource/mcp",
    ],
    [
      "/.well-known/oauth-protected-resource/mcp",
      "/mcp",
      "/api",
      "/.well-known/oauth-protected-resource/api",
    ],
    ["/.well-known/oauth-protected-resource/mcp", "/mcp", "/", "/.well-known/oauth-protected-resource"],
    ["/.well-known/oauth-protected-resource", "/", "/mcp", "/.well-known/oauth-protected-resource/mcp"],
    ["/.well-known/oauth-protected-resource", "/mcp", "/mcp", "/.well-known/oauth-protected-resource"],
    ["/.well-known/oauth-authorization-server", "/mcp", "/mcp", "/.well-known/oauth-authorization-server"],
    [
      "/.well-known/oauth-authorization-server/tenant1",
      "/mcp",
      "/mcp",
      "/.well-known/oauth-authorization-server/tenant1",
    ],
    ["/.well-known/openid-configuration?x=1", "/mcp", "/mcp", "/.well-known/openid-configuration?x=1"],
    ["/.well-known/openid-configurationX", "/mcp", "/mcp", undefined],
    ["/.well-known/security.txt", "/mcp", "/mcp", undefined],
  ];
  for (const [target, route, base, expected] of cases) {
    it(`${target} (route ${route}, upstream path ${base}) → ${expected ?? "not a discovery request"}`, () => {
      const table = new RouteTable([
        barePool({ name: "default", route, upstreams: [new FakeUpstream("u")] }),
      ]);
      const document = discoveryDocument(target);
      const found = document && table.discovery(document);
      assert.equal(found?.discovery && discoveryPath(found.discovery, found.remainder, base), expected);
    });
  }
});

describe("PublicUrls: the upstream's own URLs made public (SPEC §4.2)", () => {
  const upstream = { name: "u" } as Upstream;
  const urls = new PublicUrls({
    route: "/mcp",
    publicUrl: undefined,
    upstreamUrls: new Map([[upstream, new URL("http://up.internal:3000/mcp")]]),
  });
  const request = { host: "proxy.example:8080", proto: "https" } as UpstreamRequest;
  const cases: [string, string][] = [
    ["http://up.internal:3000/mcp", "https://proxy.example:8080/mcp"],
    ["http://up.internal:3000/mcp/x?y=1", "https://proxy.example:8080/mcp/x?y=1"],
    [
      "http://up.internal:3000/.well-known/oauth-protected-resource/mcp",
      "https://proxy.example:8080/.well-known/oauth-protected-resource/mcp",
    ],
    ["http://up.internal:3000/other", "http://up.internal:3000/other"],
    ["https://auth.example/authorize", "https://auth.example/authorize"],
    ["not a url", "not a url"],
  ];
  for (const [named, expected] of cases) {
    it(`${named} → ${expected}`, () => assert.equal(urls.map(named, upstream, request), expected));
  }

  it("uses server.public_url when it is set, whatever the Host", () => {
    const fixed = new PublicUrls({
      route: "/mcp",
      publicUrl: new URL("https://mcp.example.com/tools"),
      upstreamUrls: new Map([[upstream, new URL("http://up.internal:3000/mcp")]]),
    });
    assert.equal(
      fixed.map("http://up.internal:3000/mcp", upstream, request),
      "https://mcp.example.com/tools",
    );
    assert.equal(
      fixed.map("http://up.internal:3000/.well-known/oauth-protected-resource/mcp", upstream, request),
      "https://mcp.example.com/.well-known/oauth-protected-resource/tools",
    );
  });
});

describe("MCP authorization through the proxy", () => {
  it("forwards discovery, and rewrites WWW-Authenticate, Location and the metadata's resource", async () => {
    let self = "";
    const upstream = await startUpstream((req, res) => {
      if (req.url === "/.well-known/oauth-protected-resource/mcp/large") {
        res.writeHead(200, { "content-type": "application/json" }); // chunked: no length to tell
        res.end(`"${"x".repeat(99_998)}"`);
      } else if (req.url === "/.well-known/oauth-protected-resource/mcp") {
        const body = JSON.stringify({
          resource: `${self}/mcp`,
          authorization_servers: ["https://auth.example"],
        });
        res
          .writeHead(200, { "content-type": "application/json", "content-length": String(body.length) })
          .end(body);
      } else if (req.url === "/mcp" && req.headers.authorization === undefined) {
        res
          .writeHead(401, {
            "www-authenticate": `Bearer error="invalid_token", resource_metadata="${self}/.well-known/oauth-protected-resource/mcp"`,
          })
          .end();
      } else if (req.url === "/mcp/moved") {
        res.writeHead(307, { location: `${self}/mcp/here` }).end();
      } else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    self = upstream.url;
    const proxy = await startProxy(
      `[server]\nroute = "/mcp"\n${upstreamsToml([{ name: "u", url: `${upstream.url}/mcp` }])}`,
    );
    opened.push(upstream.close, proxy.close);

    const challenged = await request(`${proxy.url}/mcp`, { method: "POST", body: "{}" });
    assert.equal(challenged.statusCode, 401);
    await challenged.body.text();
    assert.equal(
      challenged.headers["www-authenticate"],
      `Bearer error="invalid_token", resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp"`,
    );
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.metrics().totalRequests, 0, "a 401 is neutral");

    const metadata = await request(`${proxy.url}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(metadata.statusCode, 200);
    const text = await metadata.body.text();
    assert.equal(metadata.headers["content-length"], String(Buffer.byteLength(text)));
    assert.deepEqual(JSON.parse(text), {
      resource: `${proxy.url}/mcp`,
      authorization_servers: ["https://auth.example"],
    });

    const moved = await request(`${proxy.url}/mcp/moved`);
    assert.equal(moved.statusCode, 307);
    await moved.body.text();
    assert.equal(moved.headers["location"], `${proxy.url}/mcp/here`);

    const large = await request(`${proxy.url}/.well-known/oauth-protected-resource/mcp/large`);
    const largeText = await large.body.text();
    assert.equal(large.statusCode, 200);
    assert.equal(largeText.length, 100_000, "a chunked body over 64 KiB is passed on as it is, not held");

    const authorized = await request(`${proxy.url}/mcp`, {
      method: "POST",
      body: "{}",
      headers: { authorization: "Bearer t" },
    });
    assert.equal(authorized.statusCode, 200);
    await authorized.body.text();
    assert.equal(
      upstream.seen.at(-1)?.headers.authorization,
      "Bearer t",
      "Authorization is forwarded as sent",
    );
  });
});
