import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy } from "../support/proxy.ts";
import { startUpstream } from "../support/upstream.ts";
import { mcpUpstream, post, toolCall } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): a histogram's attributes do not depend on whether the span was sampled", () => {
  it("records rpc.response.status_code of a circuit_open answer for sampled and unsampled requests alike", async (t) => {
    const receiver = await OtlpReceiver.start();
    const upstream = await startUpstream(mcpUpstream());
    const proxy = await startProxy(
      `[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n[telemetry]\notlp_endpoint = "${receiver.url}"\nsample_ratio = 0\n`,
    );
    t.after(async () => {
      await upstream.close();
      await receiver.stop();
    });
    await fetch(`${proxy.adminUrl}/circuits/tools/open`, { method: "POST" });
    // one sampled (its parent says so), one not (no parent, ratio 0)
    await post(
      `${proxy.url}/mcp`,
      toolCall(1, "add", {}, { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" }),
    );
    await post(`${proxy.url}/mcp`, toolCall(2, "add", {}));
    await proxy.close();
    const points = await receiver.waitForHistogramPoints(
      (all) => all.some((p) => p.metric === "mcp.server.operation.duration"),
      "the server histogram",
    );
    const served = points.filter((p) => p.metric === "mcp.server.operation.duration");
    assert.equal(served.length, 1, "one series for two identical answers");
  });
});
