import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { mcpUpstream, post } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): tool names of megabytes leave /metrics working", () => {
  let receiver: OtlpReceiver;
  let upstream: TestUpstream;
  let proxy: TestProxy;
  before(async () => {
    receiver = await OtlpReceiver.start();
    upstream = await startUpstream(mcpUpstream());
    proxy = await startProxy(
      `[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
    await receiver?.stop();
  });

  it("answers /metrics after a few tools/call with 4 MB tool names (within max_body_bytes)", async () => {
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
