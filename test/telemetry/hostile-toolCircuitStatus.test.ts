import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";
import { mcpUpstream, post, toolCall } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): a tool circuit's refusal (answerRefusal: a 200 tool error)", () => {
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

  it("records no JSON-RPC error code the client never got", async () => {
    const forced = await fetch(`${proxy.adminUrl}/circuits/tools/tools/add/open`, { method: "POST" });
    assert.equal(forced.status, 200, await forced.text());
    const answer = await post(`${proxy.url}/mcp`, toolCall(41, "add", {}));
    assert.equal(answer.status, 200);
    const parsed = JSON.parse(answer.body) as { result?: { isError?: boolean }; error?: unknown };
    assert.equal(parsed.error, undefined, answer.body);
    assert.equal(parsed.result?.isError, true, answer.body);
    const server = await receiver.waitForSpan(
      (s) => s.kind === "server" && s.attributes["jsonrpc.request.id"] === "41",
      "server span",
    );
    assert.equal(server.attributes["error.type"], "circuit_open");
    assert.equal(
      server.attributes["rpc.response.status_code"],
      undefined,
      "the client got a result, not error -32603",
    );
  });
});
