import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy } from "../support/proxy.ts";
import { echo, startUpstream } from "../support/upstream.ts";
import { post } from "../telemetry/telemetryRig.ts";

describe("telemetry (hostile review): a plain HTTP service (read_jsonrpc = false) behind a traced proxy", () => {
  it("forwards a JSON-RPC 2.0 body of a non-MCP service as the client wrote it", async (t) => {
    const receiver = await OtlpReceiver.start();
    const upstream = await startUpstream(echo("eth"));
    const proxy = await startProxy(
      `[proxy]\nread_jsonrpc = false\n[[upstreams]]\nname = "eth"\nurl = "${upstream.url}"\n[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
    );
    t.after(async () => {
      await proxy.close();
      await upstream.close();
      await receiver.stop();
    });
    const body = `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`;
    const answer = await post(`${proxy.url}/`, body);
    assert.equal(answer.status, 200);
    assert.equal(upstream.seen[0]?.body, body);
  });
});
