import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { rpc, startFleet } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { echo, type Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** An upstream that holds every response until `release()`. */
function holding(name: string): { handler: Handler; release(): void; held: () => number } {
  const waiting: ServerResponse[] = [];
  return {
    handler: (_req, res) => void waiting.push(res),
    release: () => {
      for (const res of waiting.splice(0)) res.writeHead(200, { "x-upstream": name }).end("{}");
    },
    held: () => waiting.length,
  };
}

describe("max_in_flight (SPEC §3.4)", () => {
  it("answers 503 overloaded (Retry-After: 1) once the only upstream is full, neutral for its circuit", async () => {
    const slow = holding("a");
    const fleet = await startFleet({ a: slow.handler }, "[proxy]\nmax_in_flight = 1");
    opened.push(fleet.close);
    const first = request(fleet.proxy.url, { method: "POST", body: rpc(1) });
    await until(() => slow.held() === 1);
    const second = await request(fleet.proxy.url, { method: "POST", body: rpc(2) });
    assert.equal(second.statusCode, 503);
    assert.equal(second.headers["retry-after"], "1");
    const body = (await second.body.json()) as { id: number; error: { data: { reason: string } } };
    assert.deepEqual([body.id, body.error.data.reason], [2, "overloaded"]);
    slow.release();
    assert.equal((await first).statusCode, 200);
    const circuit = fleet.proxy.breakwater.upstreams[0]?.circuit.metrics();
    assert.deepEqual([circuit?.rejectedRequests, circuit?.failedRequests], [0, 0]);
    const metrics = await (await request(`${fleet.proxy.adminUrl}/metrics`)).body.text();
    assert.match(metrics, /breakwater_upstream_requests_total\{upstream="a",outcome="overloaded"\} 1/);
  });

  it("skips a full upstream like an open one, for the others", async () => {
    const slow = holding("a");
    const fleet = await startFleet(
      { a: slow.handler, b: echo("b") },
      '[proxy]\nload_balancing = "failover"',
      { a: "max_in_flight = 1" },
    );
    opened.push(fleet.close);
    const first = request(fleet.proxy.url);
    await until(() => slow.held() === 1);
    const second = await request(fleet.proxy.url);
    assert.equal(second.headers["x-upstream"], "b", "a was full: the request went to b");
    await second.body.text();
    slow.release();
    await (await first).body.text();
  });

  it("keeps a session whose upstream is full: 503 overloaded, not the 404 that ends it", async () => {
    let held: ServerResponse | undefined;
    const fleet = await startFleet(
      {
        a: (req, res) => {
          if (req.headers["mcp-session-id"] === undefined) {
            res.writeHead(200, { "mcp-session-id": "s-1", "content-type": "application/json" }).end("{}");
          } else if (held === undefined) held = res;
          else res.writeHead(200).end("{}");
        },
      },
      "[proxy]\nmax_in_flight = 1",
    );
    opened.push(fleet.close);
    const init = await request(fleet.proxy.url, { method: "POST", body: rpc(0, "initialize") });
    await init.body.text();
    const token = init.headers["mcp-session-id"] as string; // the session "s-1", sealed (SPEC §6.1)
    const busy = request(fleet.proxy.url, {
      method: "POST",
      body: rpc(1),
      headers: { "mcp-session-id": token },
    });
    await until(() => held !== undefined);
    const refused = await request(fleet.proxy.url, {
      method: "POST",
      body: rpc(2),
      headers: { "mcp-session-id": token },
    });
    assert.equal(refused.statusCode, 503);
    assert.equal(
      ((await refused.body.json()) as { error: { data: { reason: string } } }).error.data.reason,
      "overloaded",
    );
    held?.writeHead(200).end("{}");
    await (await busy).body.text();
  });

  it("takes the upstream's own limit over [proxy]'s, and refuses a negative one naming the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-bulkhead-"));
    const path = join(dir, "b.toml");
    writeFileSync(
      path,
      `[proxy]\nmax_in_flight = 4\n[[upstreams]]\nname = "a"\nurl = "http://127.0.0.1:1"\nmax_in_flight = 2\n` +
        `[[upstreams]]\nname = "b"\nurl = "http://127.0.0.1:2"\n`,
    );
    const { config } = loadConfig({ configPath: path });
    assert.deepEqual(
      config.upstreams.map((u) => u.maxInFlight),
      [2, 4],
    );
    writeFileSync(path, `[proxy]\nmax_in_flight = -1\n[[upstreams]]\nurl = "http://127.0.0.1:1"\n`);
    assert.throws(
      () => loadConfig({ configPath: path }),
      (error: Error) => error instanceof ConfigError && /proxy\.max_in_flight/.test(error.message),
    );
    rmSync(dir, { recursive: true });
  });
});
