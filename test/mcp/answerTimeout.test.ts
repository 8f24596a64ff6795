import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { request } from "undici";
import type { JsonRpcReply } from "../support/jsonRpcReply.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { startFleet } from "../support/proxy.ts";
import { until } from "../support/until.ts";
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
const result = event({ jsonrpc: "2.0", id: 5, result: { content: [] } });

/** An upstream answering with an event stream whose events the test writes, one at a time. */
function eventStream(): { handler: Handler; write: (text: string) => void; end: (text: string) => void } {
  let res: ServerResponse | undefined;
  const handler: Handler = (_req, r) => {
    r.writeHead(200, { "content-type": "text/event-stream" });
    r.flushHeaders();
    res = r;
  };
  return { handler, write: (text) => res?.write(text), end: (text) => res?.end(text) };
}

/**
 * A proxy whose deadlines run on manual time, in front of `handler`; `open()` sends the call and
 * resolves at its response head, with a reader that takes the body chunk by chunk (so that a test
 * knows an event has passed the proxy before it steps time on).
 */
async function behind(handler: Handler, toml: string) {
  const timers = new ManualTimers();
  const fleet = await startFleet({ u: handler }, toml, {}, { timers });
  opened.push(fleet.close);
  const open = async () => {
    const res = await request(fleet.proxy.url, {
      method: "POST",
      body: progressCall,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    });
    const chunks = res.body[Symbol.asyncIterator]();
    let text = "";
    return {
      status: res.statusCode,
      /** The next chunk of the body, as the client receives it. */
      next: async () => {
        const { value } = await chunks.next();
        text += value === undefined ? "" : String(value);
      },
      /** The rest of the body, and everything read before it. */
      rest: async () => {
        for (let chunk = await chunks.next(); !chunk.done; chunk = await chunks.next())
          text += String(chunk.value);
        return text;
      },
    };
  };
  const circuit = () => fleet.proxy.breakwater.circuits.get("u")?.breaker.metrics();
  return { fleet, timers, open, circuit };
}

/**
 * Waits until the proxy has had `count` response heads from upstream "u" (its latency histogram's
 * count), asking /metrics again after each answer: a real event, whatever the time it takes.
 */
async function headsSeen(adminUrl: string, count: number): Promise<void> {
  const pattern = `breakwater_upstream_request_duration_seconds_count{upstream="u"} ${count}\n`;
  for (let asked = 0; asked < 10_000; asked++) {
    const text = await request(`${adminUrl}/metrics`).then((res) => res.body.text());
    if (text.includes(pattern)) return;
  }
  assert.fail(`no ${count} response heads seen`);
}

/** The JSON-RPC messages of an event-stream body, in order. */
function messages(text: string): JsonRpcReply[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)));
}

const timeoutError = {
  jsonrpc: "2.0",
  id: 5,
  error: { code: -32603, message: "Upstream answer timed out", data: { reason: "timeout", upstream: "u" } },
};

describe("the answer timeout of a JSON-RPC call (SPEC §3.1), on stepped time", () => {
  it("ends a silent event stream with a JSON-RPC error for the call at answer_timeout_ms, and counts a failure", async () => {
    const upstream = eventStream();
    const { fleet, timers, open, circuit } = await behind(
      upstream.handler,
      "[proxy]\nanswer_timeout_ms = 300000",
    );
    const reply = await open();
    assert.equal(reply.status, 200);
    await timers.advance(299_999);
    assert.equal(circuit()?.failedRequests, 0, "not yet");
    await timers.advance(1);
    assert.deepEqual(messages(await reply.rest()).at(-1), timeoutError);
    assert.equal(circuit()?.failedRequests, 1);
    const u = fleet.upstreams["u"];
    await until(() => u?.aborted() === 1, "the upstream request is aborted");
  });

  it("restarts the wait at each progress notification for the call's token", async () => {
    const upstream = eventStream();
    const { timers, open, circuit } = await behind(upstream.handler, "[proxy]\nanswer_timeout_ms = 300000");
    const reply = await open();
    // three waits of 250 s: 750 s in all, past the 300 s timeout, but never 300 s without progress
    for (let n = 1; n <= 3; n++) {
      await timers.advance(250_000);
      upstream.write(progress("tok", n));
      await reply.next();
    }
    await timers.advance(250_000);
    upstream.end(result);
    const got = messages(await reply.rest());
    assert.equal(got.length, 4);
    assert.deepEqual(got.at(-1), { jsonrpc: "2.0", id: 5, result: { content: [] } });
    assert.deepEqual([circuit()?.totalRequests, circuit()?.failedRequests], [1, 0]);
  });

  it("does not restart it for another call's progress", async () => {
    const upstream = eventStream();
    const { timers, open, circuit } = await behind(upstream.handler, "[proxy]\nanswer_timeout_ms = 300000");
    const reply = await open();
    await timers.advance(250_000);
    upstream.write(progress("other", 1));
    await reply.next();
    await timers.advance(50_000);
    const got = messages(await reply.rest());
    assert.deepEqual(got.at(-1), timeoutError);
    assert.equal(got.length, 2, "the other call's progress, then the error");
    assert.equal(circuit()?.failedRequests, 1);
  });

  it("bounds the whole call by max_answer_ms, whatever the progress", async () => {
    const upstream = eventStream();
    const { timers, open } = await behind(
      upstream.handler,
      "[proxy]\nanswer_timeout_ms = 300000\nmax_answer_ms = 3600000",
    );
    const reply = await open();
    for (let n = 1; n <= 14; n++) {
      await timers.advance(250_000);
      upstream.write(progress("tok", n));
      await reply.next();
    }
    // 3,500 s have passed, each wait under 300 s: the call's hour ends in 100 s
    await timers.advance(99_999);
    upstream.write(progress("tok", 15));
    await reply.next();
    await timers.advance(1);
    const got = messages(await reply.rest());
    assert.deepEqual(got.at(-1), timeoutError);
    assert.equal(got.length, 16);
  });

  it("answers 504 with a JSON-RPC error when a JSON answer's head came but no body", async () => {
    const { fleet, timers, circuit } = await behind((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
    }, "[proxy]\nrequest_timeout_ms = 3600000\nanswer_timeout_ms = 300000");
    const reply = request(fleet.proxy.url, {
      method: "POST",
      body: progressCall,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    });
    // the exchange's one timer moves from the request's deadline to the answer's when the head arrives
    await headsSeen(fleet.proxy.adminUrl, 1);
    await timers.advance(300_000);
    const res = await reply;
    assert.equal(res.statusCode, 504);
    assert.equal(((await res.body.json()) as JsonRpcReply).error?.data?.reason, "timeout");
    assert.equal(circuit()?.failedRequests, 1);
  });
});
