import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import type { JsonRpcReply } from "../support/jsonRpcReply.ts";
import { startFleet } from "../support/proxy.ts";
import type { Handler } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

const progressCall = JSON.stringify({
  jsonrpc: "2.0",
  id: 5,
  method: "tools/call",
  params: { name: "slow", _meta: { progressToken: "tok" } },
});

const event = (message: unknown) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;
const progress = (token: string, n: number) =>
  event({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: n } });

/**
 * An SSE answer: `count` progress events for `token`, `everyMs` apart, then (when `answer`) the result.
 * Timers are cleared when the proxy aborts the request.
 */
const streaming =
  (token: string, count: number, everyMs: number, answer: boolean): Handler =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < count) res.write(progress(token, ++sent));
      else {
        clearInterval(timer);
        if (answer) res.end(event({ jsonrpc: "2.0", id: 5, result: { content: [] } }));
      }
    }, everyMs);
    res.on("close", () => clearInterval(timer));
  };

async function behind(handler: Handler, toml: string) {
  const fleet = await startFleet({ u: handler }, toml);
  opened.push(fleet.close);
  const call = async () => {
    const res = await request(fleet.proxy.url, {
      method: "POST",
      body: progressCall,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const circuit = () => fleet.proxy.breakwater.circuits.get("u")?.breaker.metrics();
  return { fleet, call, circuit };
}

/** The JSON-RPC messages of an event-stream body, in order. */
function messages(text: string): JsonRpcReply[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)));
}

describe("the answer timeout of a JSON-RPC call (SPEC §3.1)", () => {
  it("ends a silent event stream with a JSON-RPC error for the call, and counts a failure", async () => {
    const { fleet, call, circuit } = await behind(
      streaming("tok", 0, 60_000, false),
      "[proxy]\nanswer_timeout_ms = 300",
    );
    const reply = await call();
    assert.equal(reply.status, 200);
    const last = messages(reply.text).at(-1);
    assert.deepEqual(last, {
      jsonrpc: "2.0",
      id: 5,
      error: {
        code: -32603,
        message: "Upstream answer timed out",
        data: { reason: "timeout", upstream: "u" },
      },
    });
    assert.equal(circuit()?.failedRequests, 1);
    const upstream = fleet.upstreams["u"];
    for (let i = 0; i < 100 && upstream?.aborted() === 0; i++) await sleep(20);
    assert.equal(upstream?.aborted(), 1, "the upstream request was aborted");
  });

  it("restarts the wait at each progress notification for the call's token", async () => {
    // 8 progress events 150 ms apart: 1.2 s in all, past the 700 ms timeout, but never 700 ms without one
    const { call, circuit } = await behind(
      streaming("tok", 8, 150, true),
      "[proxy]\nanswer_timeout_ms = 700",
    );
    const reply = await call();
    const got = messages(reply.text);
    assert.equal(got.length, 9);
    assert.deepEqual(got.at(-1), { jsonrpc: "2.0", id: 5, result: { content: [] } });
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [1, 0]);
  });

  it("does not restart it for another call's progress", async () => {
    const { call, circuit } = await behind(
      streaming("other", 8, 150, true),
      "[proxy]\nanswer_timeout_ms = 700",
    );
    const got = messages((await call()).text);
    assert.equal(got.at(-1)?.error?.data?.reason, "timeout");
    assert.ok(got.length < 9, "cut before the answer");
    assert.equal(circuit()?.failedRequests, 1);
  });

  it("bounds the whole call by max_answer_ms, whatever the progress", async () => {
    const { call } = await behind(
      streaming("tok", 1_000, 100, true),
      "[proxy]\nanswer_timeout_ms = 5000\nmax_answer_ms = 800",
    );
    const got = messages((await call()).text);
    assert.equal(got.at(-1)?.error?.data?.reason, "timeout");
    assert.ok(got.length < 100);
  });

  it("answers 504 with a JSON-RPC error when a JSON answer's head came but no body", async () => {
    const { call, circuit } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
    }, "[proxy]\nanswer_timeout_ms = 300");
    const reply = await call();
    assert.equal(reply.status, 504);
    assert.equal(JSON.parse(reply.text).error.data.reason, "timeout");
    assert.equal(circuit()?.failedRequests, 1);
  });
});
