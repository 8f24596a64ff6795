import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy } from "../support/proxy.ts";
import { startUpstream } from "../support/upstream.ts";
import { mcpUpstream, post } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): protocol versions a client claims use up the method label's slots", () => {
  it("still labels tools/list as tools/list after 64 made-up protocol versions", async (t) => {
    const receiver = await OtlpReceiver.start();
    const upstream = await startUpstream(mcpUpstream());
    const proxy = await startProxy(
      `[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
    );
    t.after(async () => {
      await proxy.close();
      await upstream.close();
      await receiver.stop();
    });
    for (let i = 0; i < 64; i++) {
      const body = JSON.stringify({
        jsonrpc: "2.0",
        id: i,
        method: "ping",
        params: { _meta: { "io.modelcontextprotocol/protocolVersion": `2099-${i}` } },
      });
      await post(`${proxy.url}/mcp`, body);
    }
    await post(`${proxy.url}/mcp`, JSON.stringify({ jsonrpc: "2.0", id: 100, method: "tools/list" }));
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    const methods = [
      ...metrics.matchAll(/mcp_server_operation_duration_seconds_count\{mcp_method_name="([^"]*)"/g),
    ].map((m) => m[1]);
    assert.ok(methods.includes("tools/list"), `methods on /metrics: ${methods.join(", ")}`);
  });
});
