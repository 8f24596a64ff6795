import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChildProcessTransport } from "../../src/upstreams/stdio/ChildProcessTransport.ts";
import { HeldBytes } from "../../src/upstreams/stdio/modern/HeldBytes.ts";
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

describe("ModernExchange", () => {
  it("bounds what clients that do not read hold all together: the client whose chunk goes past the upstream's budget is let go, and what a client held comes back to the budget when it reads or leaves", () => {
    const budget = new HeldBytes(3 * 1024);
    const chunk = {
      jsonrpc: "2.0" as const,
      method: "notifications/progress",
      params: { pad: "x".repeat(900) },
    };
    const clients = [0, 1, 2].map(() => {
      const { sink, seen } = recordingSink();
      let failed = false;
      sink.error = () => {
        failed = true;
      };
      const exchange = new ModernExchange(sink, () => {}, undefined, budget);
      let cancelled = false;
      exchange.onCancel = () => {
        cancelled = true;
      };
      exchange.pause(); // a client that does not read
      return { exchange, seen, failed: () => failed, cancelled: () => cancelled };
    });
    const [a, b, c] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    a.exchange.related(chunk);
    a.exchange.related(chunk);
    b.exchange.related(chunk);
    assert.ok(budget.used > 2 * 1024, `three chunks held: ${budget.used}`);
    c.exchange.related(chunk); // past the budget: c is let go, a and b keep theirs
    assert.deepEqual([a.failed(), b.failed(), c.failed()], [false, false, true]);
    assert.equal(c.cancelled(), true, "the process is told to stop working on c's call");
    const heldByAAndB = budget.used;
    a.exchange.resume(); // a reads: what it held is written and given back
    assert.match(a.seen.body, /notifications\/progress/);
    assert.ok(budget.used < heldByAAndB);
    b.exchange.abort(new Error("gone")); // b leaves: given back too
    assert.equal(budget.used, 0);
  });
});
