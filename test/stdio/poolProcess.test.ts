import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChildProcessTransport } from "../../src/upstreams/stdio/ChildProcessTransport.ts";
import { ModernExchange } from "../../src/upstreams/stdio/modern/ModernExchange.ts";
import { PoolProcess } from "../../src/upstreams/stdio/modern/PoolProcess.ts";
import type { ResponseSink } from "../../src/upstreams/Upstream.ts";
import { modernServer } from "./stdioRig.ts";

/** A sink that keeps what it is told: the status, the body, whether it ended. */
function recordingSink() {
  const seen = { status: 0, body: "", ended: false };
  const sink: ResponseSink = {
    start() {},
    head: (status) => {
      seen.status = status;
    },
    data: (chunk) => {
      seen.body += chunk.toString();
    },
    end: () => {
      seen.ended = true;
    },
    error: () => {},
  };
  return { sink, seen };
}

describe("PoolProcess", () => {
  it("answers a call given to it after it stopped with upstream_exited at once, never a hang", async () => {
    const child = new ChildProcessTransport({
      command: [process.execPath, modernServer],
      cwd: undefined,
      env: {},
    });
    const process_ = new PoolProcess(child, {
      upstream: "local",
      idleTimeoutMs: 60_000,
      probeTimeoutMs: 20_000,
      onGone: () => {},
    });
    assert.equal(await process_.start(), "modern");
    await process_.end("shutdown");
    const { sink, seen } = recordingSink();
    const exchange = new ModernExchange(sink, () => {});
    process_.call({ jsonrpc: "2.0", id: 3, method: "tools/list", params: {} }, exchange, false);
    assert.equal(seen.ended, true);
    const answer = JSON.parse(seen.body) as { id: number; error: { data: Record<string, unknown> } };
    assert.deepEqual(
      [answer.id, answer.error.data["reason"], answer.error.data["stopped"]],
      [3, "upstream_exited", "shutdown"],
    );
  });
});
