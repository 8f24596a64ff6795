import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { expressSdk1Server } from "../servers/filterRig.ts";
import {
  modernHeaders,
  modernStdioRig,
  opened,
  poolRig,
  sdk2,
  toolsList,
  upstream,
} from "./poolClientRig.ts";

describe("PoolRequests.eraOf", () => {
  it("finds an SDK 2.x server modern (it lists 2026-07-28 only), asking server/discover once for concurrent askers", async () => {
    const server = await sdk2("era");
    const { pool, client, upstreams } = poolRig([server.url]);
    const upstream = upstreams[0] as Upstream;
    const [first, second] = await Promise.all([client.eraOf(pool, upstream), client.eraOf(pool, upstream)]);
    assert.equal(first, "modern");
    assert.equal(second, "modern");
    assert.equal(await client.eraOf(pool, upstream), "modern");
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0]?.headers["mcp-method"], "server/discover");
  });

  it("finds a server dual when its supportedVersions list an earlier revision too", async () => {
    const server = await upstream((_req, res, body) => {
      const { id } = JSON.parse(body) as { id: unknown };
      const result = { supportedVersions: ["2025-11-25", "2026-07-28"], capabilities: {} };
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id, result }));
    });
    const { pool, client, upstreams } = poolRig([server.url]);
    assert.equal(await client.eraOf(pool, upstreams[0] as Upstream), "dual");
  });

  it("finds a modern stdio upstream modern", async () => {
    const { pool, client, upstreams } = modernStdioRig();
    assert.equal(await client.eraOf(pool, upstreams[0] as Upstream), "modern");
  });

  it("finds an SDK 1.x server earlier", async () => {
    const server = await expressSdk1Server();
    opened.push(() => server.close());
    const { pool, client, upstreams } = poolRig([server.url]);
    assert.equal(await client.eraOf(pool, upstreams[0] as Upstream), "earlier");
  });

  it("tells an era it has learnt without waiting: none while asking, the era once answered, none once an exchange fails", async () => {
    const server = await sdk2("known");
    const { pool, client, upstreams } = poolRig([server.url]);
    const upstream = upstreams[0] as Upstream;
    assert.equal(client.knownEra(upstream), undefined, "never asked");
    const asking = client.eraOf(pool, upstream);
    assert.equal(client.knownEra(upstream), undefined, "being asked");
    assert.equal(await asking, "modern");
    assert.equal(client.knownEra(upstream), "modern");
    await server.close();
    const failed = await client.request(pool, toolsList, {
      bound: upstream,
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(failed.kind, "failed");
    assert.equal(client.knownEra(upstream), undefined, "forgotten with the failure");
  });

  it("forgets an upstream's era when an exchange with it fails", async () => {
    const server = await sdk2("forgetful");
    const { pool, client, upstreams } = poolRig([server.url]);
    const upstream = upstreams[0] as Upstream;
    assert.equal(await client.eraOf(pool, upstream), "modern");
    await server.close();
    const failed = await client.request(pool, toolsList, {
      bound: upstream,
      headers: modernHeaders("tools/list"),
      timeoutMs: 5_000,
    });
    assert.equal(failed.kind, "failed");
    (upstreams[0] as Upstream).circuit.reset();
    assert.equal(await client.eraOf(pool, upstream), undefined, "asked again: no answer now");
  });
});
