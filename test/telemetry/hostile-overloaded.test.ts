import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { startUpstream } from "../support/upstream.ts";
import { post, toolCall } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): overloaded", () => {
  it("says overloaded on the server span of a request turned away at max_in_flight", async (t) => {
    const receiver = await OtlpReceiver.start();
    const upstream = await startUpstream(() => {});
    const proxy = await startProxy(
      `[proxy]\nmax_in_flight = 1\nrequest_timeout_ms = 2000\n[[upstreams]]\nname = "tools"\nurl = "${upstream.url}/mcp"\n[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
    t.after(async () => {
      await proxy.close();
      await upstream.close();
      await receiver.stop();
    });
    const first = post(`${proxy.url}/mcp`, toolCall(1, "x", {}));
    await until(() => upstream.seen.length === 1, "the first in flight");
    const second = await post(`${proxy.url}/mcp`, toolCall(2, "x", {}));
    assert.equal(second.status, 503);
    const s = await receiver.waitForSpan(
      (x) => x.kind === "server" && x.attributes["jsonrpc.request.id"] === "2",
      "span 2",
    );
    assert.equal(s.attributes["error.type"], "overloaded");
    await first;
  });
});
