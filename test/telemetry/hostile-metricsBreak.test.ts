import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { post, startTraced, type Traced } from "./telemetryRig.ts";

describe("telemetry (hostile review): tool names of megabytes leave /metrics working", () => {
  let traced: Traced;
  before(async () => {
    traced = await startTraced();
  });
  after(() => traced?.close());

  it("answers /metrics after a few tools/call with 4 MB tool names (within max_body_bytes)", async () => {
    const { proxy, upstream } = traced;
    assert.equal((await fetch(`${proxy.adminUrl}/metrics`)).status, 200);
    for (let i = 0; i < 5; i++) {
      const name = `${i}${"x".repeat(4_000_000)}`;
      const body = JSON.stringify({
        jsonrpc: "2.0",
        id: i,
        method: "tools/call",
        params: { name, arguments: {} },
      });
      assert.equal((await post(`${proxy.url}/mcp`, body)).status, 200);
    }
    upstream.seen.length = 0;
    const res = await fetch(`${proxy.adminUrl}/metrics`);
    const text = await res.text();
    const errors = proxy
      .logs()
      .filter((l) => l["level"] === 50)
      .map((l) => JSON.stringify(l).slice(0, 300));
    assert.equal(res.status, 200, `/metrics: ${text.slice(0, 100)}; error logs: ${errors.join("\n")}`);
  });
});
