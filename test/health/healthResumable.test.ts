/**
 * A health check (SPEC §3.3, §8.2) is healthy on a `result` (or an answer that is
 * not a failure); a check cannot resume a stream, so a stream that ends without any answer is no answer.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Agent } from "undici";
import { JsonRpcJudge } from "../../src/judges/JsonRpcJudge.ts";
import { healthCheckCall, mcpCheck } from "../../src/upstreams/http/healthChecks.ts";
import { startUpstream } from "../support/upstream.ts";

const rules = {
  isFailureStatus: (status: number) => status >= 500,
  isFailureCode: (code: number) => code === -32603 || (code <= -32000 && code >= -32019),
};
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("the mcp health check against an upstream that never answers (an id seen, then the stream ends)", () => {
  it("is unhealthy when every stream it gets is a priming event with an id and then ends, without any JSON-RPC answer", async () => {
    // what an SDK 1.x server with an event store writes first on every POST stream, then nothing
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("id: e-1\ndata: \n\n");
    });
    const agent = new Agent();
    cleanups.push(async () => {
      await agent.close();
      await upstream.close();
    });
    const check = mcpCheck(agent, new URL(upstream.url), () => new JsonRpcJudge(healthCheckCall, rules));
    const result = await check(AbortSignal.timeout(5_000));
    assert.equal(upstream.seen.length >= 1, true, "the check reached the upstream");
    assert.equal(result.healthy, false, "no server/discover or initialize was answered: not healthy");
  });
});
