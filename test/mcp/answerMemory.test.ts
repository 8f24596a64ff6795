import assert from "node:assert/strict";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { request } from "undici";
import { startFleet } from "../support/proxy.ts";
import type { Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

const MiB = 1024 * 1024;
/** One chunk, written again and again: the upstream itself allocates nothing per byte sent. */
const filler = Buffer.alloc(MiB, "x");

/** Writes `pieces` (a piece is text, or a count of filler MiB) with backpressure. */
async function pump(res: ServerResponse, pieces: (string | number)[]): Promise<void> {
  for (const piece of pieces) {
    if (typeof piece === "string") {
      if (!res.write(piece)) await once(res, "drain");
      continue;
    }
    for (let i = 0; i < piece; i++) if (!res.write(filler)) await once(res, "drain");
  }
  res.end();
}

const streaming =
  (pieces: (string | number)[]): Handler =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    pump(res, pieces).catch(() => res.destroy());
  };

setFlagsFromString("--expose-gc");
/** A full collection: what is measured is what is kept, not garbage not yet collected. */
const gc = runInNewContext("gc") as () => void;

function inUse(): number {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Calls through a proxy in front of `handler`, reading the answer without keeping it; the peak memory growth. */
async function peakGrowth(handler: Handler) {
  const fleet = await startFleet({ u: handler });
  opened.push(fleet.close);
  const start = inUse();
  let peak = 0;
  const res = await request(fleet.proxy.url, {
    method: "POST",
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big"}}',
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
  });
  let received = 0;
  for await (const chunk of res.body) {
    received += (chunk as Buffer).length;
    if (received % (8 * MiB) < (chunk as Buffer).length) peak = Math.max(peak, inUse() - start);
  }
  const circuit = fleet.proxy.breakwater.upstreams[0]?.circuit.metrics();
  return { peak, received, circuit };
}

describe("the memory an SSE answer costs the proxy (SPEC §3.1: constant whatever its size)", () => {
  it("stays flat while an upstream sends a line of 200 MB that never ends, which is a cut stream", async () => {
    const { peak, received, circuit } = await peakGrowth(streaming(["event: message\ndata: ", 200]));
    assert.ok(received > 200 * MiB);
    assert.ok(peak < 64 * MiB, `grew by ${(peak / MiB).toFixed(0)} MiB`);
    assert.deepEqual([circuit?.totalRequests, circuit?.failedRequests], [1, 1]);
  });

  it("stays flat through three events of 100 MB before the answer", async () => {
    const event = [
      'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"',
      100,
      '"}}\n\n',
    ];
    const answer = 'data: {"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n\n';
    const { peak, circuit } = await peakGrowth(streaming([...event, ...event, ...event, answer]));
    assert.ok(peak < 64 * MiB, `grew by ${(peak / MiB).toFixed(0)} MiB`);
    assert.deepEqual([circuit?.totalRequests, circuit?.failedRequests], [1, 0]);
  });
});
