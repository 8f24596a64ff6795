import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { post, startTraced, type Traced, toolCall } from "./telemetryRig.ts";

describe("telemetry (hostile review): a tool circuit's refusal (answerRefusal: a 200 tool error)", () => {
  let traced: Traced;
  before(async () => {
    traced = await startTraced();
  });
  after(() => traced?.close());

  it("records no JSON-RPC error code the client never got", async () => {
    const { proxy, receiver } = traced;
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
