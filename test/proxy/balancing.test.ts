import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { rpc, startFleet, startProxy, upstreamsToml } from "../support/proxy.ts";
import { echo, refusedPort, startUpstream, status, type TestUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function get(url: string): Promise<{ status: number; upstream: string | undefined }> {
  const res = await request(url);
  await res.body.text();
  const upstream = res.headers["x-upstream"];
  return { status: res.statusCode, upstream: typeof upstream === "string" ? upstream : undefined };
}

/** A proxy in front of an upstream that refuses connections ("dead"), then a live one ("b"). */
async function deadThenLive(toml = "") {
  const port = await refusedPort();
  const b = await startUpstream(echo("b"));
  const proxy = await startProxy(
    `${toml}\n${upstreamsToml([
      { name: "dead", url: `http://127.0.0.1:${port}` },
      { name: "b", url: b.url },
    ])}`,
  );
  opened.push(
    () => b.close(),
    () => proxy.close(),
  );
  return proxy;
}

describe("choosing an upstream", () => {
  it("round robin spreads requests over the upstreams in turn", async () => {
    const { proxy, close } = await startFleet({ a: echo("a"), b: echo("b") });
    opened.push(close);
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) seen.push((await get(proxy.url)).upstream);
    assert.deepEqual(seen, ["a", "b", "a", "b"]);
  });

  it("failover sends everything to the first admitted upstream in file order", async () => {
    const { proxy, upstreams, close } = await startFleet(
      { a: status(500), b: echo("b") },
      '[proxy]\nload_balancing = "failover"\n[proxy.circuit_breaker]\nfailure_threshold = 2',
    );
    opened.push(close);
    const a = upstreams["a"] as TestUpstream;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(proxy.url)).status);
    assert.deepEqual(statuses, [500, 500, 200, 200, 200]);
    assert.equal(a.seen.length, 2, "once open, the failing upstream sees nothing");
  });

  it("retries a request whose connection was refused on another upstream: the client loses nothing", async () => {
    const proxy = await deadThenLive(`[proxy]\nload_balancing = "failover"\n`);
    const res = await request(proxy.url, { method: "POST", body: rpc(1) });
    assert.equal(res.statusCode, 200);
    const seen = (await res.body.json()) as { body: string };
    assert.equal(seen.body, rpc(1), "the body reached the second upstream whole");
    const dead = proxy.breakwater.upstreams[0];
    assert.equal(dead?.circuit.metrics().failedRequests, 1);
  });

  it("keeps the client error rate at zero while one of two upstreams is down", async () => {
    const proxy = await deadThenLive();
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) statuses.add((await get(proxy.url)).status);
    assert.deepEqual([...statuses], [200]);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "open");
  });

  it("answers 503 naming the upstream that will admit soonest when none admits", async () => {
    const { proxy, close } = await startFleet({ a: echo("a"), b: echo("b") }, "", {
      a: "[upstreams.circuit_breaker]\ntimeout_duration_secs = 60",
      b: "[upstreams.circuit_breaker]\ntimeout_duration_secs = 5",
    });
    opened.push(close);
    for (const u of proxy.breakwater.upstreams) u.circuit.forceOpen();
    const res = await request(proxy.url);
    assert.equal(res.statusCode, 503);
    assert.deepEqual(await res.body.json(), {
      error: "Service temporarily unavailable",
      upstream: "b",
      retry_after: 5,
    });
  });
});
