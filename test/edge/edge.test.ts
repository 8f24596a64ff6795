import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { rpc, startFleet } from "../support/proxy.ts";
import { rawRequest, statusOf } from "../support/rawHttp.ts";
import { echo } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function fleet(toml = "") {
  const f = await startFleet({ u: echo("u") }, toml);
  opened.push(f.close);
  return { proxy: f.proxy, upstream: f.upstreams["u"] };
}

/** A POST as the MCP conformance suite's DNS rebinding check sends it. */
function initializeAs(host: string, origin = `http://${host}`) {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} });
  return `POST / HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

function bodyOf(reply: string): unknown {
  return JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4));
}

describe("Host and Origin at the proxy's edge (SPEC §4.1)", () => {
  it("refuses a DNS rebinding request with 403 and a JSON-RPC error carrying its id, forwarding nothing", async () => {
    const { proxy, upstream } = await fleet();
    const reply = await rawRequest(proxy.url, initializeAs("evil.example.com"));
    assert.equal(statusOf(reply), 403);
    assert.deepEqual(bodyOf(reply), {
      jsonrpc: "2.0",
      id: 1,
      error: { code: -32000, message: "Forbidden: Host not allowed", data: { reason: "forbidden_host" } },
    });
    assert.equal(upstream?.seen.length, 0);
  });

  it("serves the same request with a loopback Host and Origin", async () => {
    const { proxy, upstream } = await fleet();
    const port = new URL(proxy.url).port;
    assert.equal(statusOf(await rawRequest(proxy.url, initializeAs(`localhost:${port}`))), 200);
    assert.equal(statusOf(await rawRequest(proxy.url, initializeAs(`127.0.0.1:${port}`))), 200);
    assert.equal(upstream?.seen.length, 2);
  });

  it("refuses a foreign Origin on an allowed Host (forbidden_origin), in the plain shape for a GET", async () => {
    const { proxy, upstream } = await fleet();
    const res = await request(proxy.url, { headers: { origin: "https://evil.example.com" } });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(await res.body.json(), {
      error: "Forbidden: Origin not allowed",
      reason: "forbidden_origin",
    });
    assert.equal(upstream?.seen.length, 0);
  });

  it("lets a listed origin and a listed host through", async () => {
    const { proxy } = await fleet(
      `[server]\nallowed_hosts = ["mcp.example.com"]\nallowed_origins = ["https://app.example.com"]`,
    );
    const ok = await request(proxy.url, {
      method: "POST",
      body: rpc(5),
      headers: { host: "mcp.example.com", origin: "https://app.example.com" },
    });
    assert.equal(ok.statusCode, 200);
    await ok.body.text();
    const loopback = await request(proxy.url, { headers: { host: "localhost" } });
    assert.equal(loopback.statusCode, 403, "a configured list replaces the default");
    await loopback.body.text();
  });

  it("answers a malformed Origin with 403 and a malformed Host with 400, never an exception", async () => {
    const { proxy } = await fleet();
    for (const [headers, status] of [
      ["Host: a@b\r\n", 400],
      ["Host: localhost\r\nOrigin: http://[::1\r\n", 403],
      ["Host: localhost\r\nOrigin: null\r\n", 403],
      ["", 400], // HTTP/1.1 without Host (node's own rule)
    ] as const) {
      const reply = await rawRequest(proxy.url, `GET / HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
      assert.equal(statusOf(reply), status, headers);
    }
    const still = await request(proxy.url);
    assert.equal(still.statusCode, 200);
    await still.body.text();
  });

  it("answers more than one Host field with 400 bad_host, forwarding nothing, even where any host is allowed", async () => {
    const { proxy, upstream } = await fleet(`[server]\nallowed_hosts = ["*"]`);
    const port = new URL(proxy.url).port;
    for (const hosts of [
      `Host: localhost:${port}\r\nHost: evil.example.com`,
      `Host: evil.example.com\r\nhost: localhost:${port}`,
      `Host: localhost:${port}\r\nHOST: localhost:${port}`,
    ]) {
      const initialize = initializeAs(`localhost:${port}`).replace(`Host: localhost:${port}`, hosts);
      const reply = await rawRequest(proxy.url, initialize);
      assert.equal(statusOf(reply), 400, hosts);
      assert.deepEqual(bodyOf(reply), {
        error: "Bad Request: more than one Host header",
        reason: "bad_host",
      });
    }
    assert.equal(upstream?.seen.length, 0);
  });

  it("refuses a Host a URL parser would decode into an allowed name (loc%61lhost) with 400 bad_host", async () => {
    const { proxy, upstream } = await fleet();
    for (const host of ["loc%61lhost", "LOC%61LHOST:1", "127.0.0.%31"]) {
      const reply = await rawRequest(proxy.url, initializeAs(host, "http://localhost"));
      assert.equal(statusOf(reply), 400, host);
      assert.deepEqual(bodyOf(reply), { error: "Bad Request: invalid Host header", reason: "bad_host" });
    }
    // a byte a URL parser maps to ASCII (ª → a), sent as the one latin-1 byte node reads it as
    const latin1 = Buffer.from(
      `GET / HTTP/1.1\r\nHost: loc\u00aalhost\r\nConnection: close\r\n\r\n`,
      "latin1",
    );
    assert.equal(statusOf(await rawRequest(proxy.url, latin1)), 400);
    assert.equal(upstream?.seen.length, 0);
  });
});

describe("Host and Origin on the admin listener (SPEC §4.1)", () => {
  it("refuses a foreign Host on every endpoint", async () => {
    const { proxy } = await fleet();
    for (const path of ["/health", "/metrics", "/", "/circuits"]) {
      const res = await request(`${proxy.adminUrl}${path}`, { headers: { host: "evil.example.com" } });
      assert.equal(res.statusCode, 403, path);
      assert.deepEqual(await res.body.json(), {
        error: "Forbidden: Host not allowed",
        reason: "forbidden_host",
      });
    }
  });

  it("answers more than one Host, or loc%61lhost, with 400 bad_host on every endpoint", async () => {
    const { proxy } = await fleet();
    const port = new URL(proxy.adminUrl).port;
    for (const path of ["/health", "/", "/circuits/u/open"]) {
      for (const [hosts, error] of [
        [`Host: localhost:${port}\r\nHost: evil.example.com`, "Bad Request: more than one Host header"],
        ["Host: loc%61lhost", "Bad Request: invalid Host header"],
      ] as const) {
        const method = path.startsWith("/circuits") ? "POST" : "GET";
        const reply = await rawRequest(
          proxy.adminUrl,
          `${method} ${path} HTTP/1.1\r\n${hosts}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(statusOf(reply), 400, `${path} ${hosts}`);
        assert.deepEqual(bodyOf(reply), { error, reason: "bad_host" });
      }
    }
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "closed");
  });

  it("refuses circuit control from a foreign Origin (a cross-site form POST), and leaves the circuit alone", async () => {
    const { proxy } = await fleet();
    const res = await request(`${proxy.adminUrl}/circuits/u/open`, {
      method: "POST",
      headers: { origin: "http://evil.example.com", "content-type": "application/x-www-form-urlencoded" },
      body: "x=1",
    });
    assert.equal(res.statusCode, 403);
    assert.equal(((await res.body.json()) as { reason: string }).reason, "forbidden_origin");
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "closed");
  });

  it("takes circuit control from its own origin (the dashboard) and from clients without one", async () => {
    const { proxy } = await fleet();
    const own = await request(`${proxy.adminUrl}/circuits/u/open`, {
      method: "POST",
      headers: { origin: proxy.adminUrl },
    });
    assert.equal(own.statusCode, 200);
    await own.body.text();
    const curl = await request(`${proxy.adminUrl}/circuits/u/reset`, { method: "POST" });
    assert.equal(curl.statusCode, 200);
    await curl.body.text();
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "closed");
  });
});

describe("edge configuration", () => {
  it("defaults to the loopback names on a loopback listener and to * elsewhere", () => {
    const loopback = loadConfig({ upstreams: ["http://127.0.0.1:1"] });
    assert.deepEqual(loopback.config.allowedHosts, ["localhost", "127.0.0.1", "[::1]"]);
    assert.deepEqual(loopback.config.adminAllowedHosts, ["localhost", "127.0.0.1", "[::1]"]);
    assert.deepEqual(loopback.effective.server.allowed_origins, []);
    const open = loadConfig({ upstreams: ["http://127.0.0.1:1"], listen: "0.0.0.0:8080" });
    assert.deepEqual(open.config.allowedHosts, ["*"]);
  });

  it("refuses a bad entry, naming the key and the entry", () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-edge-"));
    const path = join(dir, "bad.toml");
    for (const [toml, message] of [
      [
        `allowed_origins = ["https://ok.example", "app.example.com"]`,
        /server\.allowed_origins\[1\]: .*"app\.example\.com"/,
      ],
      [`allowed_hosts = ["http://x"]`, /server\.allowed_hosts\[0\]: .*"http:\/\/x"/],
      [`admin_allowed_hosts = ["a b"]`, /server\.admin_allowed_hosts\[0\]/],
    ] as const) {
      writeFileSync(path, `[server]\n${toml}\n[[upstreams]]\nurl = "http://127.0.0.1:1"\n`);
      assert.throws(
        () => loadConfig({ configPath: path }),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
        toml,
      );
    }
    rmSync(dir, { recursive: true });
  });
});
